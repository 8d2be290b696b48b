"""Static lint of a test module with tree-sitter: patterns of tests that prove little.

Findings are evidence only; the execution probes decide. tree-sitter parses broken code
too, so a test module with a syntax error still gets what can be found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter_python
from tree_sitter import Language, Node, Parser

WEAK_CALLS = ("isinstance", "type", "callable", "hasattr", "len")
SKIP_MARKS = ("skip", "skipif", "xfail")


@dataclass(frozen=True)
class Finding:
    code: str
    line: int
    message: str
    snippet: str


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(Language(tree_sitter_python.language()))


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _finding(code: str, node: Node, message: str) -> Finding:
    return Finding(code, node.start_point[0] + 1, message, _text(node).splitlines()[0][:120]
                   if _text(node) else "")


def _test_functions(root: Node) -> Iterator[tuple[Node, list[Node]]]:
    """(function node, its decorators) for every test_* function, in classes too."""
    for node in _walk(root):
        if node.type != "function_definition":
            continue
        name = _text(node.child_by_field_name("name"))
        if not name.startswith("test"):
            continue
        decorators = []
        if node.parent is not None and node.parent.type == "decorated_definition":
            decorators = [c for c in node.parent.children if c.type == "decorator"]
        yield node, decorators


def _is_constant(node: Node) -> bool:
    if node.type in ("true", "false", "integer", "float", "string", "none"):
        return node.type not in ("false", "none") and not (
            node.type == "integer" and _text(node) == "0")
    if node.type == "parenthesized_expression" and node.named_children:
        return _is_constant(node.named_children[0])
    return False


def _is_weak_check(node: Node) -> bool:
    """isinstance(...), x is not None, len(...) >= 0, type(...) == ..."""
    if node.type == "call":
        return _text(node.child_by_field_name("function")) in WEAK_CALLS
    if node.type == "comparison_operator":
        text = _text(node)
        operands = node.named_children
        if "is not None" in text or text.endswith("!= None"):
            return True
        if any(o.type == "call" and _text(o.child_by_field_name("function")) in WEAK_CALLS
               for o in operands):
            return text.replace(" ", "").endswith((">=0", ">-1")) or "type(" in text
    if node.type == "boolean_operator":
        return all(_is_weak_check(c) for c in node.named_children)
    return False


def _assertion_like(node: Node) -> bool:
    if node.type == "assert_statement":
        return True
    if node.type == "call":
        fn = _text(node.child_by_field_name("function"))
        tail = fn.rsplit(".", 1)[-1]
        return tail.startswith("assert") or fn in ("pytest.raises", "raises", "check",
                                                   "pytest.fail") or fn.endswith(".raises")
    if node.type == "with_statement":
        return "raises(" in _text(node).split(":", 1)[0]
    return False


def lint_tests(source: str, entry_point: str | None) -> list[Finding]:
    """Findings for the test module `source`; never raises on any input."""
    try:
        root = _parser().parse(source.encode("utf-8", "replace")).root_node
    except Exception:  # tree-sitter is error-tolerant, but the input may be anything
        return []
    findings: list[Finding] = []
    for fn, decorators in _test_functions(root):
        name = _text(fn.child_by_field_name("name"))
        body = fn.child_by_field_name("body")
        nodes = list(_walk(body)) if body is not None else []
        for deco in decorators:
            if any(f"mark.{m}" in _text(deco) for m in SKIP_MARKS):
                findings.append(_finding("skip_mark", deco, f"{name} is marked skip or xfail"))
        asserts = [n for n in nodes if n.type == "assert_statement"]
        if not any(_assertion_like(n) for n in nodes):
            findings.append(_finding("no_assertion", fn, f"{name} asserts nothing"))
        for a in asserts:
            cond = a.named_children[0] if a.named_children else None
            if cond is not None and _is_constant(cond):
                findings.append(_finding("constant_assert", a, "asserts a constant"))
            if cond is not None and cond.type == "comparison_operator" and \
                    len(cond.named_children) == 2 and \
                    _text(cond.named_children[0]) == _text(cond.named_children[1]) and \
                    cond.named_children[0].type == "call":
                findings.append(_finding("self_compare", a, "compares a call with itself"))
        conditions = [a.named_children[0] for a in asserts if a.named_children]
        if conditions and all(_is_weak_check(c) for c in conditions):
            findings.append(_finding("weak_checks_only", fn, f"{name} only checks types, "
                                     "non-None or non-negative lengths"))
        findings += _swallowed(nodes, name)
        for n in nodes:
            if n.type == "call" and _text(n.child_by_field_name("function")) in (
                    "pytest.skip", "pytest.xfail", "skip", "xfail"):
                findings.append(_finding("skip_mark", n, f"{name} skips itself"))
    if entry_point:
        findings += _replaced(root, entry_point)
    return findings


def _swallowed(nodes: list[Node], name: str) -> list[Finding]:
    out = []
    for n in nodes:
        if n.type != "try_statement":
            continue
        body = n.child_by_field_name("body")
        if body is None or not any(c.type == "assert_statement" for c in _walk(body)):
            continue
        for clause in (c for c in n.children if c.type == "except_clause"):
            caught = _text(clause).split(":", 1)[0]
            if caught.strip() == "except" or any(e in caught for e in (
                    "AssertionError", "Exception", "BaseException")):
                if not any(c.type == "raise_statement" for c in _walk(clause)):
                    out.append(_finding("swallowed_assertion", clause,
                                        f"{name} catches its own assertion failures"))
    return out


def _replaced(root: Node, entry: str) -> list[Finding]:
    """Assignments to the entry point, or monkeypatching it, anywhere in the module."""
    out = []
    targets = {entry, f"solution.{entry}"}
    for n in _walk(root):
        if n.type == "assignment":
            left = _text(n.child_by_field_name("left"))
            if left in targets:
                out.append(_finding("entry_point_replaced", n, f"the test replaces {entry}"))
        elif n.type in ("function_definition", "class_definition") and \
                _text(n.child_by_field_name("name")) == entry:
            out.append(_finding("entry_point_replaced", n, f"the test redefines {entry}"))
        elif n.type == "call":
            fn = _text(n.child_by_field_name("function"))
            args = _text(n.child_by_field_name("arguments"))
            if fn.endswith("setattr") and entry in args:
                out.append(_finding("entry_point_replaced", n, f"the test patches {entry}"))
    return out
