"""Text and code normalised for comparison: what two copies of one sample share.

Code is printed again from its AST (no comments, docstrings, or layout of its own), then
read with Python's `tokenize`, identifiers canonicalised, so a copy with renamed
variables, another layout or another docstring gives the same tokens. Prose is
lower-cased words.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import io
import keyword
import re
import tokenize
import warnings
from collections.abc import Iterator, Sequence

_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
_KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
_WORD = re.compile(r"\w+")
# Fallback for code that does not tokenize: words and single punctuation marks.
_ROUGH = re.compile(r"\w+|[^\w\s]")


def code_tokens(source: str, names: str = "canonical") -> list[str]:
    """The solution's tokens without comments, docstrings or layout.

    Identifiers (not keywords, builtins or attribute names) are, by `names`:
    "canonical", renamed in order of first use (exact duplicates up to renaming);
    "placeholder", all one token (near-duplicates: an inserted name shifts nothing);
    "keep", left alone. Code that parses is first printed again from its AST, so
    parentheses, quotes and line breaks of the original do not count.
    """
    canonical, placeholder, kept = _forms(_reprinted(source))
    return {"canonical": canonical, "placeholder": placeholder}.get(names, kept)


def code_token_forms(source: str) -> tuple[list[str], list[str]]:
    """The canonical and the placeholder tokens of `code_tokens`, in one pass."""
    canonical, placeholder, _ = _forms(_reprinted(source))
    return canonical, placeholder


def _forms(source: str) -> tuple[list[str], list[str], list[str]]:
    renames: dict[str, str] = {}
    canonical: list[str] = []
    placeholder: list[str] = []
    kept: list[str] = []
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _SKIPPED:
                continue
            text = tok.string
            kept.append(text)
            if tok.type == tokenize.NAME and text not in _KEPT_NAMES and previous != ".":
                canonical.append(renames.setdefault(text, f"v{len(renames)}"))
                placeholder.append("_")
            else:
                canonical.append(text)
                placeholder.append(text)
            previous = text
    except (tokenize.TokenError, IndentationError, SyntaxError):
        rough = _ROUGH.findall(source)  # unparsable code still gets compared, roughly
        return rough, rough, rough
    return canonical, placeholder, kept


def _reprinted(source: str) -> str:
    """The source printed again from its AST without docstrings; itself if it does not
    parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes in the sample are its affair
            tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return source
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
    try:
        return ast.unparse(tree)
    except (ValueError, RecursionError):
        return source


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
