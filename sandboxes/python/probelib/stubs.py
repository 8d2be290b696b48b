"""Degenerate stand-ins for an entry point: tests that pass against one prove nothing."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MISSING = object()


class StubRaised(Exception):
    """Raised by the `raise` stand-in."""


def zero_of(annotation: Any) -> Any:
    """The zero value of an annotated type, or MISSING when there is none to give."""
    if annotation in (inspect.Signature.empty, None, type(None)):
        return MISSING
    origin = typing.get_origin(annotation) or annotation
    if origin is typing.Union or str(origin) == "types.UnionType":
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return zero_of(args[0]) if args else MISSING
    zeros: dict[Any, Any] = {int: 0, float: 0.0, str: "", bool: False, bytes: b"", list: [],
                             dict: {}, tuple: (), set: set(), frozenset: frozenset()}
    if origin in zeros:
        return zeros[origin]
    for abstract, value in ((typing.Sequence, []), (typing.Mapping, {}), (typing.Iterable, [])):
        if origin is abstract or str(origin).endswith(abstract.__name__):
            return value
    return MISSING


@dataclass(frozen=True)
class Stub:
    """One degenerate behaviour: `make(target)` turns a function into its stand-in."""

    name: str
    make: Callable[[Callable[..., Any]], Callable[..., Any]]

    def build(self, namespace: dict[str, Any], entry_point: str) -> Any:
        """The stand-in for `namespace[entry_point]` (a function or a class)."""
        target = namespace[entry_point]
        if inspect.isclass(target):
            methods = {name: self.make(member) for name, member in vars(target).items()
                       if inspect.isfunction(member) and not name.startswith("_")}
            return type(target.__name__, (target,), methods)
        return self.make(target)


def _wrap(target: Callable[..., Any], body: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(target)
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        return body(*args, **kwargs)

    return stand_in


def _returning(value: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    import copy

    return lambda target: _wrap(target, lambda *a, **k: copy.copy(value))


def _first_argument(target: Callable[..., Any]) -> Callable[..., Any]:
    params = list(inspect.signature(target).parameters)
    is_method = bool(params) and params[0] in ("self", "cls")

    def body(*args: Any, **kwargs: Any) -> Any:
        rest = args[1:] if is_method else args
        if rest:
            return rest[0]
        return next(iter(kwargs.values()), None)

    return _wrap(target, body)


def _raising(target: Callable[..., Any]) -> Callable[..., Any]:
    def body(*_a: Any, **_k: Any) -> Any:
        raise StubRaised(f"stand-in for {getattr(target, '__name__', '?')}")

    return _wrap(target, body)


def _zero(target: Callable[..., Any]) -> Callable[..., Any]:
    value = zero_of(_return_annotation(target))
    return _returning(None if value is MISSING else value)(target)


def _return_annotation(obj: Any) -> Any:
    try:
        hints = typing.get_type_hints(obj)
    except Exception:  # unresolvable string annotations: fall back to the raw one
        hints = {"return": getattr(obj, "__annotations__", {}).get("return",
                                                                   inspect.Signature.empty)}
    return hints.get("return", inspect.Signature.empty)


def make_stubs(namespace: dict[str, Any], entry_point: str) -> list[Stub]:
    """The stand-ins to try for `entry_point`, from its signature and annotations."""
    target = namespace[entry_point]
    stubs = [Stub("return None", _returning(None))]
    functions = [target] if not inspect.isclass(target) else [
        m for n, m in vars(target).items() if inspect.isfunction(m) and not n.startswith("_")]
    annotated = [_return_annotation(f) for f in functions]
    zeros = [zero_of(a) for a in annotated]
    if functions and any(z is not MISSING for z in zeros):
        label = f"return {zeros[0]!r}" if len(functions) == 1 else "return zero values"
        stubs.append(Stub(label, _zero))
    if not functions or any(a is inspect.Signature.empty for a in annotated):
        for value in (0, "", [], False):
            stubs.append(Stub(f"return {value!r}", _returning(value)))
    if any(len(inspect.signature(f).parameters) > (1 if inspect.isclass(target) else 0)
           for f in functions):
        stubs.append(Stub("return first argument", _first_argument))
    stubs.append(Stub("raise", _raising))
    return stubs
