"""Text and code normalised for comparison: what two copies of one sample share.

Code is read with Python's own `tokenize`: comments, docstrings, blank lines and
indentation are dropped, and identifiers (not keywords, builtins or attribute names) are
renamed in order of first use (`v0`, `v1`, ...), so a copy with renamed variables,
another layout or another docstring gives the same tokens. Prose is lower-cased words.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import io
import keyword
import re
import tokenize
from collections.abc import Iterator, Sequence

_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
_KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
_WORD = re.compile(r"\w+")
# Fallback for code that does not tokenize: words and single punctuation marks.
_ROUGH = re.compile(r"\w+|[^\w\s]")


def code_tokens(source: str, canonical_names: bool = True) -> list[str]:
    """The solution's tokens without comments, docstrings or layout; identifiers
    renamed in order of first use when `canonical_names`."""
    docstrings = _docstring_starts(source)
    names: dict[str, str] = {}
    out: list[str] = []
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _SKIPPED:
                continue
            if tok.type == tokenize.STRING and tok.start in docstrings:
                continue
            text = tok.string
            if (canonical_names and tok.type == tokenize.NAME and text not in _KEPT_NAMES
                    and previous != "."):
                text = names.setdefault(text, f"v{len(names)}")
            out.append(text)
            previous = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _ROUGH.findall(source)  # unparsable code still gets compared, roughly
    return out


def _docstring_starts(source: str) -> set[tuple[int, int]]:
    """(line, column) where each module, class or function docstring starts."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return set()
    starts: set[tuple[int, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                starts.add((body[0].lineno, body[0].col_offset))
    return starts


def words(text: str) -> list[str]:
    """Lower-cased words of prose (punctuation and layout dropped)."""
    return _WORD.findall(text.lower())


def code_digest(tokens: Sequence[str]) -> str:
    """A hash of normalised code: equal for exact duplicates up to names and layout."""
    return hashlib.sha256("\x00".join(tokens).encode()).hexdigest()


def shingles(tokens: Sequence[str], n: int) -> Iterator[str]:
    """The n-grams of `tokens` joined by a space; one shingle of everything when shorter."""
    if len(tokens) < n:
        if tokens:
            yield " ".join(tokens)
        return
    for i in range(len(tokens) - n + 1):
        yield " ".join(tokens[i:i + n])
