"""Pulling code out of a model's reply: fenced blocks, stray prose, several blocks.

tree-sitter parses each candidate block (it never gives up on broken code, so a block
with one bad line still yields its good definitions); the definitions that matter are
picked by kind and name, and everything else (prints, example calls, `__main__` blocks)
is dropped. Each failure is a value with a reason code, counted by the funnel.
"""

from __future__ import annotations

import ast
import re
import threading
from dataclasses import dataclass

import tree_sitter_python
from tree_sitter import Language, Node, Parser

PARSE_REASONS = {
    "empty_reply": "the reply had no text",
    "no_code": "the reply held no Python code",
    "syntax_error": "the extracted code does not parse",
    "no_entry_point": "the code does not define the function the problem names",
    "no_test_function": "the test module defines no test_* function",
    "no_signature": "the problem names no function or class signature",
    "no_statement": "the problem has no statement text",
}

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_DEF_LINE = re.compile(r"^[ \t]*(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)\s*[(:].*$", re.M)
_KEEP_KINDS = {"import_statement", "import_from_statement", "future_import_statement",
               "function_definition", "class_definition", "decorated_definition"}
_local = threading.local()


@dataclass(frozen=True)
class Parsed:
    """Extracted code, or the reason there is none (`code` empty then)."""

    code: str = ""
    reason: str = ""
    names: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.reason


def _parser() -> Parser:
    parser: Parser | None = getattr(_local, "parser", None)
    if parser is None:  # one per thread: a tree-sitter Parser is not thread-safe
        parser = Parser(Language(tree_sitter_python.language()))
        _local.parser = parser
    return parser


def code_blocks(text: str) -> list[str]:
    """The fenced blocks of `text` (python or unlabelled first); else the whole text when
    it looks like code. An unclosed fence (a cut-off reply) still yields its block."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    usable = [b for lang, b in blocks if lang in ("", "python", "py", "python3")]
    if usable:
        return [b for b in usable if b.strip()]
    if blocks:
        return []
    return [text] if _DEF_LINE.search(text) else []


def _name(node: Node) -> str:
    target = node
    if node.type == "decorated_definition":
        inner = node.child_by_field_name("definition")
        if inner is None:
            return ""
        target = inner
    name = target.child_by_field_name("name")
    return name.text.decode() if name is not None and name.text is not None else ""


def _assignment(node: Node) -> bool:
    """A module-level constant (`PAIRS = [...]`, typed or not) is part of the code."""
    return (node.type == "expression_statement" and node.named_child_count == 1
            and node.named_children[0].type in ("assignment", "augmented_assignment"))


def definitions(code: str) -> list[tuple[str, str, str]]:
    """(kind, name, source) of the top-level imports, definitions and constants of `code`,
    skipping pieces tree-sitter could not parse."""
    source = code.encode()
    tree = _parser().parse(source)
    out: list[tuple[str, str, str]] = []
    for node in tree.root_node.children:
        if node.has_error or node.type == "ERROR":
            continue
        if node.type in _KEEP_KINDS or _assignment(node):
            text = source[node.start_byte:node.end_byte].decode()
            out.append((node.type, _name(node), text))
    return out


def _module(pieces: list[tuple[str, str, str]]) -> str:
    imports = [text for kind, _, text in pieces if "import" in kind]
    rest = [text for kind, _, text in pieces if "import" not in kind]
    unique = list(dict.fromkeys(imports))
    return "\n".join(unique) + ("\n\n" if unique else "") + "\n\n\n".join(rest) + "\n"


def _compiles(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def parse_solution(text: str, entry_point: str) -> Parsed:
    """The solution module of a reply: imports, helpers and `entry_point`, from every
    block (a later definition of a name replaces an earlier one, as Python would)."""
    if not text.strip():
        return Parsed(reason="empty_reply")
    blocks = code_blocks(text)
    if not blocks:
        return Parsed(reason="no_code")
    by_name: dict[str, tuple[str, str, str]] = {}
    imports: list[tuple[str, str, str]] = []
    for block in blocks:
        for kind, name, src in definitions(block):
            if "import" in kind:
                imports.append((kind, name, src))
            elif not name.startswith("test_"):
                by_name[name or src] = (kind, name, src)
    if entry_point not in by_name:
        broken = any(not _compiles(b) for b in blocks)
        return Parsed(reason="syntax_error" if broken else "no_entry_point")
    code = _module(imports + list(by_name.values()))
    if not _compiles(code):
        return Parsed(reason="syntax_error")
    return Parsed(code=code, names=tuple(n for n in by_name if n.isidentifier()))


def parse_tests(text: str, entry_point: str) -> Parsed:
    """A pytest module from a reply: its imports, helpers and test functions, with any
    definition of `entry_point` dropped (the tests must exercise the solution module)
    and `from solution import ENTRY` added when missing."""
    if not text.strip():
        return Parsed(reason="empty_reply")
    blocks = code_blocks(text)
    if not blocks:
        return Parsed(reason="no_code")
    pieces: list[tuple[str, str, str]] = []
    for block in blocks:
        pieces += [p for p in definitions(block) if p[1] != entry_point]
    tests = [name for kind, name, _ in pieces if name.startswith("test_")
             and kind in ("function_definition", "decorated_definition")]
    if not tests:
        broken = any(not _compiles(b) for b in blocks)
        return Parsed(reason="syntax_error" if broken else "no_test_function")
    imports_entry = re.compile(rf"^from\s+solution\s+import\s+.*\b{re.escape(entry_point)}\b",
                               re.M)
    pieces = [p for p in pieces if not (p[0] == "import_from_statement"
                                        and re.match(r"from\s+solution\s+import", p[2])
                                        and not imports_entry.search(p[2]))]
    if not any(imports_entry.search(src) for _, _, src in pieces):
        pieces.insert(0, ("import_from_statement", "", f"from solution import {entry_point}"))
    code = _module(pieces)
    if not _compiles(code):
        return Parsed(reason="syntax_error")
    return Parsed(code=code, names=tuple(tests))


@dataclass(frozen=True)
class ProblemText:
    """A proposed problem: its statement, the signature it names and that name."""

    statement: str
    signature: str
    entry_point: str

    @property
    def prompt(self) -> str:
        """The problem as a sample's `prompt`: statement, then the signature."""
        return f"{self.statement}\n\nSignature:\n```python\n{self.signature}\n```\n"


def _header(code: str) -> tuple[str, str] | None:
    """The signature (a def line, or a class with its method lines) of the first
    definition in `code`, and its name."""
    lines = code.splitlines()
    for i, line in enumerate(lines):
        match = _DEF_LINE.match(line)
        if not match or line[:1].isspace():
            continue
        kind, name = match.groups()
        head = [line.rstrip()]
        j = i + 1
        while not head[-1].endswith(":") and j < len(lines) and len(head) < 6:
            head.append(lines[j].rstrip())  # a def whose arguments span lines
            j += 1
        if kind == "class":
            head += [m.rstrip() for m in lines[i + 1:] if re.match(r"^\s+def\s+\w+\s*\(", m)]
        signature = "\n".join(head)
        return signature, name
    return None


_LABEL = re.compile(r"^\s*(?:#+\s*|\*\*)?(problem|task|signature)\s*:?\s*(?:\*\*)?\s*:?\s*",
                    re.I | re.M)


def parse_problem(text: str) -> ProblemText | str:
    """A proposed problem, or the reason code why the reply holds none."""
    if not text.strip():
        return "empty_reply"
    found = None
    for block in code_blocks(text) or [text]:
        found = _header(block)
        if found:
            break
    if found is None:
        found = _header(text)
    if found is None:
        return "no_signature"
    signature, name = found
    prose = _FENCE.sub("\n", text)
    sig_at = re.search(r"^\s*(?:#+\s*|\*\*)?signature\b", prose, re.I | re.M)
    if sig_at:
        prose = prose[:sig_at.start()]
    prose = _DEF_LINE.sub("", prose)
    statement = _LABEL.sub("", prose).strip()
    statement = re.sub(r"\n{3,}", "\n\n", statement)
    if not statement:
        docstring = _docstring(text, name)
        if not docstring:
            return "no_statement"
        statement = docstring
    return ProblemText(statement=statement, signature=signature, entry_point=name)


def _docstring(text: str, name: str) -> str:
    for block in code_blocks(text):
        try:
            tree = ast.parse(block)
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
                return (ast.get_docstring(node) or "").strip()
    return ""


def imports_of(code: str) -> list[str]:
    """Top-level module names a piece of code imports (for the diversity report)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module.split(".")[0])
    return out


def seed_signature(solution: str, entry_point: str | None) -> str:
    """The signature line of a seed's entry point (for the examples shown in prompts)."""
    for kind, name, src in definitions(solution):
        if name == entry_point and kind != "import_statement":
            found = _header(src.split("\n", 1)[0] if kind != "class_definition" else src)
            if found:
                return found[0]
    return ""
