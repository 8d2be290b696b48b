"""AST mutants of a solution: small, deterministic changes a good test suite notices.

Only code inside function and method bodies is mutated; docstrings, annotations,
decorators and default values are left alone. Every mutant is compiled from the edited
tree; its whole module source (`ast.unparse`) and unified diff against the unparsed
original are rendered only when asked for (for survivors, as evidence): rendering every
mutant cost more than generating it.
"""

from __future__ import annotations

import ast
import difflib
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from types import CodeType
from typing import TypeVar

T = TypeVar("T")
GENERATION_BUDGET = 5.0  # seconds of the fork server's time one sample's mutants may take
# Why the last call of generate_mutants failed (None: it did not); the server is one thread.
last_failure: str | None = None


class GenerationFailed(Exception):
    """Mutants could not be made; the message says why."""

SWAP_CMP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
SWAP_BIN: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd, ast.BitXor: ast.BitOr, ast.LShift: ast.RShift,
    ast.RShift: ast.LShift, ast.MatMult: ast.Mult,
}
SKIPPED_FIELDS = ("annotation", "returns", "type_comment", "type_params", "decorator_list")
DROPPABLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Raise, ast.Break,
             ast.Continue, ast.Delete)
# Groups are visited round-robin, in this order, so the cap keeps every kind.
GROUPS = ("compare", "arith", "bool", "not", "constant", "return", "drop", "slice", "range")


@dataclass(frozen=True)
class Mutant:
    """One mutant: `lineno` is in the original source, `diff` is between unparsed sources."""

    id: str
    operator: str
    lineno: int
    # Compiled already to check it; kept so the child that runs it need not again.
    code: CodeType | None = field(default=None, compare=False, repr=False)
    # (unparsed original, unparsed mutant), made on demand.
    render: Callable[[], tuple[str, str]] = field(default=lambda: ("", ""), compare=False,
                                                  repr=False)

    @cached_property
    def source(self) -> str:
        return self.render()[1]

    @cached_property
    def diff(self) -> str:
        try:
            original, mutated = self.render()
        except (RecursionError, MemoryError) as exc:  # unparsing a tree nested too deep
            return f"(no diff: {type(exc).__name__} rendering the source; line {self.lineno}, " \
                f"{self.operator})"
        return "".join(difflib.unified_diff(
            (original + "\n").splitlines(keepends=True), (mutated + "\n").splitlines(keepends=True),
            "a/solution.py", "b/solution.py", n=2))


# An edit takes the node (in a fresh tree) and returns its replacement and a label.
Edit = Callable[[ast.AST], tuple[ast.AST, str]]


def _body_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    """Every node inside a function body, in a fixed order; no docstrings, no annotations."""
    def walk(node: ast.AST, inside: bool) -> Iterator[ast.AST]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]
            for stmt in body:
                yield from walk(stmt, True)
            return
        if inside:
            yield node
        for name, value in ast.iter_fields(node):
            if name in SKIPPED_FIELDS:
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    yield from walk(child, inside)

    yield from walk(tree, False)


def _plus(node: ast.expr, delta: int) -> ast.expr:
    op: ast.operator = ast.Add() if delta > 0 else ast.Sub()
    return ast.BinOp(node, op, ast.Constant(abs(delta)))


def _is_int(node: ast.AST | None) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand  # -1 is a literal too
    return isinstance(node, ast.Constant) and type(node.value) is int


def _compare_edits(node: ast.Compare) -> list[Edit]:
    def edit(i: int) -> Edit:
        def apply(n: ast.AST) -> tuple[ast.AST, str]:
            assert isinstance(n, ast.Compare)
            old = type(n.ops[i])
            n.ops[i] = SWAP_CMP[old]()
            return n, f"Compare {old.__name__}->{SWAP_CMP[old].__name__}"
        return apply
    return [edit(i) for i, op in enumerate(node.ops) if type(op) in SWAP_CMP]


def _arith_edit(n: ast.AST) -> tuple[ast.AST, str]:
    assert isinstance(n, ast.BinOp | ast.AugAssign)
    old = type(n.op)
    n.op = SWAP_BIN[old]()
    kind = "BinOp" if isinstance(n, ast.BinOp) else "AugAssign"
    return n, f"{kind} {old.__name__}->{SWAP_BIN[old].__name__}"


def _bool_edit(n: ast.AST) -> tuple[ast.AST, str]:
    assert isinstance(n, ast.BoolOp)
    was_and = isinstance(n.op, ast.And)
    n.op = ast.Or() if was_and else ast.And()
    return n, "BoolOp and->or" if was_and else "BoolOp or->and"


def _drop_unary(n: ast.AST) -> tuple[ast.AST, str]:
    assert isinstance(n, ast.UnaryOp)
    return n.operand, "UnaryOp drop not" if isinstance(n.op, ast.Not) else "UnaryOp drop -"


def _add_not(n: ast.AST) -> tuple[ast.AST, str]:
    assert isinstance(n, ast.If | ast.While | ast.IfExp)
    n.test = ast.UnaryOp(ast.Not(), n.test)
    return n, "add not"


def _constant_edits(node: ast.Constant) -> list[Edit]:
    def shift(delta: int) -> Edit:
        def apply(n: ast.AST) -> tuple[ast.AST, str]:
            assert isinstance(n, ast.Constant) and isinstance(n.value, int)
            new = (not n.value) if type(n.value) is bool else n.value + delta
            return ast.Constant(new), f"Constant {n.value!r}->{new!r}"
        return apply
    return [shift(1)] if type(node.value) is bool else [shift(1), shift(-1)]


def _bound_edits(node: ast.Slice | ast.Call, label: str) -> list[Edit]:
    """±1 on each non-constant bound (constant bounds already get the Constant mutants)."""
    if isinstance(node, ast.Slice):
        where = {"lower": node.lower, "upper": node.upper}
    else:
        where = dict(zip(["start", "stop"] if len(node.args) > 1 else ["stop"], node.args,
                             strict=False))

    def shift(name: str, delta: int) -> Edit:
        def apply(n: ast.AST) -> tuple[ast.AST, str]:
            if isinstance(n, ast.Slice):
                setattr(n, name, _plus(getattr(n, name), delta))
            else:
                assert isinstance(n, ast.Call)
                i = 1 if name == "stop" and len(n.args) > 1 else 0
                n.args[i] = _plus(n.args[i], delta)
            return n, f"{label} {name}{'+1' if delta > 0 else '-1'}"
        return apply
    return [shift(name, d) for name, bound in where.items() for d in (1, -1)
            if bound is not None and not _is_int(bound) and not isinstance(bound, ast.Starred)]


def _edits(node: ast.AST) -> list[tuple[str, Edit]]:
    """The mutations that apply at `node`, each with its group."""
    out: list[tuple[str, Edit]] = []
    if isinstance(node, ast.Compare):
        out += [("compare", e) for e in _compare_edits(node)]
    elif isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in SWAP_BIN:
        out.append(("arith", _arith_edit))
    elif isinstance(node, ast.BoolOp):
        out.append(("bool", _bool_edit))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
        out.append(("not" if isinstance(node.op, ast.Not) else "arith", _drop_unary))
    elif isinstance(node, ast.Constant) and type(node.value) in (int, bool):
        out += [("constant", e) for e in _constant_edits(node)]
    elif isinstance(node, ast.Slice):
        out += [("slice", e) for e in _bound_edits(node, "Slice bound")]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == "range" and 1 <= len(node.args) <= 3 and not node.keywords:
        out += [("range", e) for e in _bound_edits(node, "range bound")]
    if isinstance(node, ast.If | ast.While | ast.IfExp):
        out.append(("not", _add_not))
    if isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        out.append(("return", lambda n: (ast.Return(ast.Constant(None)), "Return value->None")))
    if isinstance(node, DROPPABLE) and not (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        out.append(("drop", lambda n: (ast.Pass(), "drop statement")))
    return out


def _slots(tree: ast.AST) -> dict[int, tuple[ast.AST, str, int | None]]:
    """id(node) -> (parent, field, index in the field's list or None): where to swap it."""
    slots: dict[int, tuple[ast.AST, str, int | None]] = {}
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for i, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        slots[id(child)] = (parent, name, i)
            elif isinstance(value, ast.AST):
                slots[id(value)] = (parent, name, None)
    return slots


def _put(slot: tuple[ast.AST, str, int | None], node: ast.AST) -> None:
    parent, name, index = slot
    if index is None:
        setattr(parent, name, node)
    else:
        getattr(parent, name)[index] = node


def _spread(n: int) -> list[int]:
    """0..n-1 in an order whose every prefix is spread evenly (bit-reversal)."""
    bits = max(1, (n - 1).bit_length())
    keys = [int(format(i, f"0{bits}b")[::-1], 2) for i in range(n)]
    return sorted(range(n), key=lambda i: keys[i])


def _order(sites: list[tuple[str, int, int, int]]) -> list[tuple[int, int]]:
    """(node index, edit index) pairs: round-robin over groups, each group spread over lines."""
    queues: list[list[tuple[int, int]]] = []
    for group in GROUPS:
        mine = [s for s in sites if s[0] == group]
        lines = sorted({s[3] for s in mine})
        rank = {line: r for r, line in enumerate(lines[i] for i in _spread(len(lines)))}
        per_line: dict[int, int] = {}
        keyed = []
        for s in mine:  # the k-th site of a line comes after the first site of every line
            k = per_line[s[3]] = per_line.get(s[3], -1) + 1
            keyed.append(((k, rank[s[3]]), (s[1], s[2])))
        queues.append([pair for _, pair in sorted(keyed)])
    order: list[tuple[int, int]] = []
    while any(queues):
        for q in queues:
            if q:
                order.append(q.pop(0))
    return order


def generate_mutants(source: str, limit: int = 40,
                     budget: float = GENERATION_BUDGET) -> list[Mutant]:
    """At most `limit` distinct mutants of `source`; same input, same list, same order.

    [] when generation failed (`last_failure` says why): past `budget` seconds, or on a
    source that does not parse or is nested too deep to walk.
    """
    global last_failure
    last_failure = None
    try:
        return _generate(source, limit, time.monotonic() + budget, budget)
    except GenerationFailed as exc:
        last_failure = str(exc)
    except SyntaxError as exc:
        last_failure = f"solution.py does not parse: {exc.msg} (line {exc.lineno})"
    except ValueError as exc:  # e.g. null bytes
        last_failure = f"solution.py does not parse: {exc}"
    except RecursionError:
        last_failure = "solution.py is nested too deep to mutate (RecursionError)"
    except MemoryError:
        last_failure = "solution.py is too large or deep to mutate (MemoryError)"
    return []


def _generate(source: str, limit: int, deadline: float, budget: float) -> list[Mutant]:
    """One tree serves every mutant: each edit is made in place, compiled, then undone
    (parsing and walking the source again per mutant cost more than the rest). Mutants
    are told apart by the structure of the one place where they differ from the source.
    """
    def check_time() -> None:
        if time.monotonic() > deadline:
            raise GenerationFailed(f"mutant generation took over its {budget:g} s budget")

    tree = ast.parse(source)
    nodes = list(_body_nodes(tree))
    check_time()
    slots = _slots(tree)
    sites = []
    for index, node in enumerate(nodes):
        if index % 256 == 0:
            check_time()
        sites += [(group, index, k, getattr(node, "lineno", 0))
                  for k, (group, _) in enumerate(_edits(node))]

    def edited(index: int, k: int, use: Callable[[], T]) -> tuple[T, str]:
        """`use()` while the tree carries edit k of node `index`; the edit's label."""
        node = nodes[index]
        saved = {name: list(value) if isinstance(value, list) else value
                 for name, value in ast.iter_fields(node)}
        replacement, label = _edits(node)[k][1](node)
        ast.fix_missing_locations(ast.copy_location(replacement, node))
        _put(slots[id(node)], replacement)
        try:
            return use(), label
        finally:  # undo: the next mutant starts from the original tree
            _put(slots[id(node)], node)
            for name, value in saved.items():
                setattr(node, name, value)

    def renderer(index: int, k: int) -> Callable[[], tuple[str, str]]:
        def render() -> tuple[str, str]:
            mutated, _ = edited(index, k, lambda: ast.unparse(tree))
            return ast.unparse(tree), str(mutated)
        return render

    def shape(index: int) -> tuple[int, str]:
        """Where node `index` sits and what is there now: a mutant differs from the
        source at one place only, so this tells mutants apart as the whole tree would."""
        node = nodes[index]
        slot = slots[id(node)]
        parent, name, at = slot
        now = getattr(parent, name) if at is None else getattr(parent, name)[at]
        return id(slot), ast.dump(now)

    mutants: list[Mutant] = []
    seen: set[tuple[int, str]] = set()
    unchanged: dict[int, tuple[int, str]] = {}
    def attempt(at: int) -> tuple[tuple[int, str], CodeType]:
        return shape(at), compile(tree, "solution.py", "exec")

    for index, k in _order(sites):
        if len(mutants) >= limit:
            break
        check_time()
        if index not in unchanged:
            unchanged[index] = shape(index)
            seen.add(unchanged[index])
        try:
            (where, code), label = edited(index, k, functools.partial(attempt, index))
        except (SyntaxError, ValueError, TypeError):  # an edit that makes no valid program
            continue
        if where in seen:
            continue
        seen.add(where)
        lineno = getattr(nodes[index], "lineno", 0)
        mutants.append(Mutant(f"m{len(mutants) + 1:02d}", label, lineno, code,
                              renderer(index, k)))
    return mutants
