"""Degenerate stand-ins for an entry point: tests that pass against one prove nothing.

`make_stubs` decides which stand-ins to try from the entry point's annotations (read
from the source, or from the imported module when its namespace is given); each
`Stub.build(namespace)` then makes the stand-in object from the real one, so that the
signature, name and docstring match (and, for a class, `isinstance` still holds).
"""

from __future__ import annotations

import ast
import collections
import collections.abc
import copy
import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

FALLBACK: tuple[Any, ...] = (0, "", [], False)  # tried when the return type is not known
UNKNOWN = None  # "no zero value known": use the fallback set
# Special methods that carry a class's behaviour (construction and identity are kept).
BEHAVING_DUNDERS = frozenset({"__call__", "__len__", "__iter__", "__next__", "__getitem__",
                              "__contains__", "__str__", "__add__"})

# Names an annotation may use, for reading annotations from source without running it.
_SAFE_NAMES: dict[str, Any] = {
    **{t.__name__: t for t in (int, float, complex, str, bytes, bool, list, dict, set,
                                frozenset, tuple, type, object)},
    **{name: getattr(typing, name) for name in typing.__all__},
    **{name: getattr(collections.abc, name) for name in collections.abc.__all__},
    "None": None, "typing": typing, "collections": collections, "deque": collections.deque,
    "defaultdict": collections.defaultdict, "Counter": collections.Counter,
    "OrderedDict": collections.OrderedDict,
}
_SEQUENCES = (list, collections.deque, collections.abc.Sequence,
              collections.abc.MutableSequence, collections.abc.Iterable,
              collections.abc.Collection, collections.abc.Reversible)
_MAPPINGS = (dict, collections.defaultdict, collections.Counter, collections.OrderedDict,
             collections.abc.Mapping, collections.abc.MutableMapping)
_SETS = (set, frozenset, collections.abc.Set, collections.abc.MutableSet)
_ITERATORS = (collections.abc.Iterator, collections.abc.Generator)


class StubError(Exception):
    """What the `raise` stand-in raises."""


@dataclass(frozen=True)
class _Shape:
    """What the stub list depends on: per callable, its zero values and whether it takes args."""

    is_class: bool
    returns: list[list[Any] | None] = field(default_factory=list)  # None: type not known
    takes_args: bool = True


@dataclass(frozen=True)
class Stub:
    """One degenerate behaviour for the entry point.

    kind: "value" (return a copy of `value`), "zero" (each method its own zero value),
    "first" (return the first argument) or "raise".
    """

    name: str
    entry_point: str
    kind: str
    value: Any = None

    def build(self, namespace: Mapping[str, Any], entry_point: str | None = None) -> Any:
        """The stand-in for the real entry point found in `namespace`."""
        target = namespace[entry_point or self.entry_point]
        if inspect.isclass(target):
            return _stand_in_class(target, self)
        return _stand_in(target, self, is_method=False)


def zero_values(annotation: Any) -> list[Any] | None:
    """The degenerate values of an annotated type ([] for None alone); None when unknown."""
    if annotation is None or annotation is type(None):
        return []
    if isinstance(annotation, str):
        return zero_values(_eval_annotation(annotation))
    origin = typing.get_origin(annotation) or annotation
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        parts = [zero_values(a) for a in args]
        if any(p is None for p in parts):
            return None
        return _dedupe([v for p in parts if p is not None for v in p])
    if origin is typing.Literal:
        return list(args[:3])
    simple = {int: 0, float: 0.0, complex: 0j, str: "", bytes: b""}
    if origin in simple:
        return [simple[origin]]
    if origin is bool:
        return [False, True]
    if origin is tuple:
        if not args or args == ((),) or (len(args) == 2 and args[1] is Ellipsis):
            return [()]
        items = [zero_values(a) for a in args]
        return [tuple(i[0] if i else None for i in items)] if all(
            i is not None for i in items) else [()]
    for kinds, value in ((_MAPPINGS, {}), (_SETS, set()), (_SEQUENCES, []),
                         (_ITERATORS, iter(()))):
        if isinstance(origin, type) and origin in kinds:
            return [value]
    return UNKNOWN


def _dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(type(v) is type(o) and v == o for o in out):
            out.append(v)
    return out


def _eval_annotation(text: str) -> Any:
    """An annotation written as a string, evaluated among known names only; else Any."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return Any
    allowed = (ast.Expression, ast.Name, ast.Attribute, ast.Subscript, ast.Tuple, ast.List,
               ast.Constant, ast.BinOp, ast.BitOr, ast.Load)
    if not all(isinstance(n, allowed) and not (isinstance(n, ast.Attribute) and
               n.attr.startswith("_")) for n in ast.walk(tree)):
        return Any
    try:
        return eval(compile(tree, "<annotation>", "eval"), {"__builtins__": {}}, _SAFE_NAMES)
    except Exception:  # a name from the solution itself: no zero value known
        return Any


def _return_hint(fn: Any) -> Any:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable string annotations: evaluate the raw text ourselves
        hints = dict(getattr(fn, "__annotations__", None) or {})
    return hints.get("return", Any)


def _label(value: Any) -> str:
    return "return iter(())" if isinstance(value, collections.abc.Iterator) \
        else f"return {value!r}"


def _stubbed(name: str) -> bool:
    return not name.startswith("_") or name in BEHAVING_DUNDERS


def _public_methods(cls: type) -> dict[str, Any]:
    """Public functions, static/class methods and properties, and behaving dunders.

    Inherited ones count when their class comes from the same module (not a library's).
    """
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__ != cls.__module__:
            continue
        for name, member in vars(klass).items():
            if not _stubbed(name):
                continue
            if isinstance(member, staticmethod | classmethod | property) or \
                    inspect.isfunction(member):
                found[name] = member
    return found


def _function_of(member: Any) -> Any:
    if isinstance(member, staticmethod | classmethod):
        return member.__func__
    return member.fget if isinstance(member, property) else member


def _shape_from_namespace(target: Any) -> _Shape:
    if not inspect.isclass(target):
        try:
            takes = bool(inspect.signature(target).parameters)
        except (TypeError, ValueError):
            takes = True
        return _Shape(False, [zero_values(_return_hint(target))], takes)
    members = _public_methods(target)
    returns = [zero_values(_return_hint(_function_of(m))) for m in members.values()]
    takes = any(_arity(m) > 0 for m in members.values())
    return _Shape(True, returns, takes)


def _arity(member: Any) -> int:
    """Parameters a caller passes (self/cls excluded)."""
    try:
        count = len(inspect.signature(_function_of(member)).parameters)
    except (TypeError, ValueError):
        return 1
    return count if isinstance(member, staticmethod) else count - 1


def _shape_from_source(source: str, entry_point: str) -> _Shape:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _Shape(False, [UNKNOWN])
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef
                                                   | ast.ClassDef) and n.name == entry_point]
    if not defs:
        return _Shape(False, [UNKNOWN])
    node = defs[-1]  # the last definition is the one the module ends up with

    def zeros(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Any] | None:
        return zero_values(_eval_annotation(ast.unparse(fn.returns))) if fn.returns else None

    if not isinstance(node, ast.ClassDef):
        a = node.args
        takes = bool(a.posonlyargs or a.args or a.kwonlyargs or a.vararg or a.kwarg)
        return _Shape(False, [zeros(node)], takes)
    methods = [n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
               and _stubbed(n.name)]
    takes = any(len(m.args.args) + len(m.args.kwonlyargs) > 1 or m.args.vararg for m in methods)
    return _Shape(True, [zeros(m) for m in methods], takes)


def make_stubs(source: str | Mapping[str, Any], entry_point: str,
               namespace: Mapping[str, Any] | None = None) -> list[Stub]:
    """The stand-ins to try for `entry_point`, in a fixed order.

    `source` is the solution's source; pass the imported module's `namespace` too when
    there is one (annotations resolve better). A namespace in place of `source` also works.
    """
    if not isinstance(source, str):
        namespace = source
        source = ""
    if namespace is not None and entry_point in namespace:
        shape = _shape_from_namespace(namespace[entry_point])
    else:
        shape = _shape_from_source(source, entry_point)
    if shape.is_class and not shape.returns:
        return []  # no behaviour of its own to replace
    stubs = [Stub("return None", entry_point, "value", None)]
    known = [r for r in shape.returns if r is not None]
    if shape.is_class:
        if any(known):
            stubs.append(Stub("return zero values", entry_point, "zero"))
        values: list[Any] = list(FALLBACK) if len(known) < len(shape.returns) else []
    else:
        values = known[0] if known else list(FALLBACK)
    stubs += [Stub(_label(v), entry_point, "value", v) for v in values]
    if shape.takes_args:
        stubs.append(Stub("return first argument", entry_point, "first"))
    stubs.append(Stub("raise", entry_point, "raise"))
    return stubs


def _behaviour(target: Any, stub: Stub, is_method: bool) -> Callable[..., Any]:
    """The body of the stand-in: (args, kwargs) -> result."""
    try:
        sig: inspect.Signature | None = inspect.signature(target)
    except (TypeError, ValueError):
        sig = None
    value = stub.value
    if stub.kind == "zero":
        zeros = zero_values(_return_hint(target))
        value = zeros[0] if zeros else None

    def act(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if sig is not None:
            bound = sig.bind(*args, **kwargs)  # a wrong call fails as it would on the real one
            given = list(bound.arguments.values())[1 if is_method else 0:]
        else:
            given = [*args[1 if is_method else 0:], *kwargs.values()]
        if stub.kind == "raise":
            raise StubError(f"stand-in for {getattr(target, '__qualname__', '?')}")
        if stub.kind == "first":
            return given[0] if given else None
        if isinstance(value, collections.abc.Iterator):
            return iter(())
        return copy.deepcopy(value)  # a test may mutate what it gets back

    return act


def _stand_in(target: Any, stub: Stub, is_method: bool) -> Callable[..., Any]:
    act = _behaviour(target, stub, is_method)
    if inspect.iscoroutinefunction(target):
        async def async_stand_in(*args: Any, **kwargs: Any) -> Any:
            return act(args, kwargs)
        return functools.update_wrapper(async_stand_in, target)

    def stand_in(*args: Any, **kwargs: Any) -> Any:
        return act(args, kwargs)
    try:
        return functools.update_wrapper(stand_in, target)
    except (AttributeError, TypeError):  # a callable object without function metadata
        return stand_in


def _stand_in_class(cls: type, stub: Stub) -> type:
    """A subclass of `cls` whose public methods all behave like `stub`."""
    body: dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                            "__doc__": cls.__doc__}
    for name, member in _public_methods(cls).items():
        fn = _function_of(member)
        if isinstance(member, staticmethod):
            body[name] = staticmethod(_stand_in(fn, stub, is_method=False))
        elif isinstance(member, classmethod):
            body[name] = classmethod(_stand_in(fn, stub, is_method=True))
        elif isinstance(member, property):
            body[name] = property(_stand_in(fn, stub, is_method=True)) if fn else member
        else:
            body[name] = _stand_in(fn, stub, is_method=True)
    return type(cls)(cls.__name__, (cls,), body)
