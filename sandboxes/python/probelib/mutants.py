"""AST mutants of a solution: small, deterministic changes a good test suite notices."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

SWAP_CMP: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
SWAP_BIN: dict[type, type] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd, ast.LShift: ast.RShift, ast.RShift: ast.LShift,
}


@dataclass(frozen=True)
class Mutant:
    id: str
    operator: str
    lineno: int
    source: str
    diff: str


Edit = Callable[[ast.AST], str | None]  # mutates the node in place; returns a label


def _function_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    """Every node inside a function body, skipping docstrings and annotations."""
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
            if name in ("annotation", "returns", "type_comment"):
                continue
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, ast.AST):
                    yield from walk(child, inside)

    yield from walk(tree, False)


def _edits(node: ast.AST) -> list[tuple[str, Edit]]:
    """The mutations that apply at `node`, each a (group, edit) pair."""
    out: list[tuple[str, Edit]] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in SWAP_CMP:
                def cmp_edit(n: ast.AST, i: int = i) -> str:
                    assert isinstance(n, ast.Compare)
                    old = type(n.ops[i])
                    n.ops[i] = SWAP_CMP[old]()
                    return f"Compare {old.__name__}->{SWAP_CMP[old].__name__}"
                out.append(("compare", cmp_edit))
    elif isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in SWAP_BIN:
        def bin_edit(n: ast.AST) -> str:
            assert isinstance(n, ast.BinOp | ast.AugAssign)
            old = type(n.op)
            n.op = SWAP_BIN[old]()
            return f"BinOp {old.__name__}->{SWAP_BIN[old].__name__}"
        out.append(("arith", bin_edit))
    elif isinstance(node, ast.BoolOp):
        def bool_edit(n: ast.AST) -> str:
            assert isinstance(n, ast.BoolOp)
            swap = isinstance(n.op, ast.And)
            n.op = ast.Or() if swap else ast.And()
            return "BoolOp and->or" if swap else "BoolOp or->and"
        out.append(("bool", bool_edit))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(("not", _drop_not))
    elif isinstance(node, ast.If | ast.While):
        out.append(("not", _add_not))
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        for delta in (1, -1):
            def const_edit(n: ast.AST, delta: int = delta) -> str:
                assert isinstance(n, ast.Constant)
                old = n.value
                n.value = old + delta
                return f"Constant {old}->{old + delta}"
            out.append(("constant", const_edit))
    elif isinstance(node, ast.Slice):
        for part in ("lower", "upper"):
            if getattr(node, part) is not None:
                def slice_edit(n: ast.AST, part: str = part) -> str:
                    bound = getattr(n, part)
                    setattr(n, part, ast.BinOp(bound, ast.Add(), ast.Constant(1)))
                    return f"Slice {part} bound +1"
                out.append(("slice", slice_edit))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == "range" and node.args:
        def range_edit(n: ast.AST) -> str:
            assert isinstance(n, ast.Call)
            idx = 0 if len(n.args) == 1 else 1
            n.args[idx] = ast.BinOp(n.args[idx], ast.Add(), ast.Constant(1))
            return "range bound +1"
        out.append(("range", range_edit))
    if isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        def return_edit(n: ast.AST) -> str:
            assert isinstance(n, ast.Return)
            n.value = ast.Constant(None)
            return "Return value->None"
        out.append(("return", return_edit))
    if isinstance(node, ast.Assign | ast.AugAssign | ast.Expr) and not (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        out.append(("drop", _drop_statement))
    return out


def _drop_not(n: ast.AST) -> str:
    assert isinstance(n, ast.UnaryOp)
    # Turn `not x` into `(x)` by making the operator a no-op unary plus on a bool.
    n.op = ast.UAdd()
    n.operand = ast.Call(ast.Name("bool", ast.Load()), [n.operand], [])
    return "UnaryOp drop not"


def _add_not(n: ast.AST) -> str:
    assert isinstance(n, ast.If | ast.While)
    n.test = ast.UnaryOp(ast.Not(), n.test)
    return "add not"


def _drop_statement(n: ast.AST) -> str:
    # The statement is kept as a node but made inert: replaced by `pass` at unparse time.
    n._drop = True
    return "drop statement"


class _Dropper(ast.NodeTransformer):
    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        return ast.Pass() if getattr(node, "_drop", False) else node


def generate_mutants(source: str, limit: int = 40) -> list[Mutant]:
    """Deterministic mutants, spread round-robin over kinds of mutation, at most `limit`."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    original = ast.unparse(tree)
    points: dict[str, list[tuple[int, int]]] = {}
    for index, node in enumerate(_function_nodes(tree)):
        for k, (group, _) in enumerate(_edits(node)):
            points.setdefault(group, []).append((index, k))
    order: list[tuple[int, int]] = []
    queues = [list(v) for _, v in sorted(points.items())]
    while any(queues):
        for q in queues:
            if q:
                order.append(q.pop(0))
    mutants: list[Mutant] = []
    seen = {original}
    for index, k in order:
        if len(mutants) >= limit:
            break
        fresh = ast.parse(source)
        node = list(_function_nodes(fresh))[index]
        label = _edits(node)[k][1](node)
        mutated_tree = ast.fix_missing_locations(_Dropper().visit(fresh))
        try:
            mutated = ast.unparse(mutated_tree)
            compile(mutated, "solution.py", "exec")
        except (SyntaxError, ValueError, RecursionError):
            continue
        if mutated in seen:
            continue
        seen.add(mutated)
        diff = "".join(difflib.unified_diff(
            (original + "\n").splitlines(keepends=True), (mutated + "\n").splitlines(keepends=True),
            "a/solution.py", "b/solution.py", n=1))
        mutants.append(Mutant(f"m{len(mutants):02d}", label or "", getattr(node, "lineno", 0),
                              mutated, diff))
    return mutants
