"""Comparing two answers by structure, never by the objects' own `__eq__`.

A solution's answer (or exception) and a mutant's are turned into canonical forms made
only of exact builtin atoms and tuples, and the forms are compared; no method of the
answers' classes runs, so an `__eq__` (or `__hash__`, `__ne__`) that always says "equal"
forges nothing:

* exact builtin atoms (`None`, `bool`, `int`, `str`, `bytes`, ...) by type, then value;
  floats by their bits (every NaN alike), complex numbers part by part;
* exact lists, tuples, dicts, sets, frozensets (and `range`, `slice`, `deque`,
  `OrderedDict`, `defaultdict`, `Counter`), item by item; dicts and sets as sorted
  canonical forms, so order and hashing do not matter;
* a few exact stdlib value types (`Decimal`, `Fraction`, naive dates and times);
* an instance of a class written in Python (the solution's, a test's, a dataclass) by
  its class's module and qualified name, then its state: the value of a builtin base
  (an `int` subclass's int), its `__dict__` and its `__slots__`, structurally. The
  solution's and a mutant's copies of a class are different class objects, so classes
  are told apart by name, never by identity;
* a class by its module and qualified name;
* an exception by its class's module and qualified name, and for a class written in
  Python (the solution's own) also its `args` and state; a builtin exception's args are
  the interpreter's wording of how a call failed, not compared.

Anything else (functions, generators, C objects whose state is hidden), a cycle, a walk
deeper than `MAX_DEPTH` or over `MAX_NODES`, or a hostile object that raises while being
looked at is *unknown*: neither equal nor different. `compare` says which of the three.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import math
import types
from typing import Any

SAME, DIFFERENT, UNKNOWN = "same", "different", "unknown"
MAX_DEPTH = 40  # nesting levels walked
MAX_NODES = 20_000  # values walked in one answer

# Types are looked up by id: a metaclass may forge a class's own __eq__ and __hash__.
_ATOMS = {id(t): t.__name__ for t in (type(None), bool, int, str, bytes, type(Ellipsis),
                                      type(NotImplemented))}
_ATOM_IDS = frozenset(_ATOMS)
_SEQUENCES = {id(t): name for t, name in (
    (list, "list"), (tuple, "tuple"), (collections.deque, "deque"))}
_MAPPINGS = {id(t): name for t, name in (
    (dict, "dict"), (collections.OrderedDict, "OrderedDict"),
    (collections.defaultdict, "defaultdict"), (collections.Counter, "Counter"))}
_SETS = {id(set): "set", id(frozenset): "frozenset"}
# Builtin bases a Python class may extend, and how to read an instance's builtin value
# through the base's own C methods (never the subclass's overrides).
_BASE_VALUE: dict[type, Any] = {
    int: int.__pos__, float: float.__pos__, complex: complex.__pos__,
    str: lambda v: str.__getitem__(v, slice(None)),
    bytes: lambda v: bytes.__getitem__(v, slice(None)),
    tuple: lambda v: tuple.__getitem__(v, slice(None)),
    list: lambda v: list.__getitem__(v, slice(None)),
    dict: lambda v: dict(dict.items(v)),
    set: lambda v: set(set.__iter__(v)),
    frozenset: lambda v: frozenset(frozenset.__iter__(v)),
    object: None,
}
_BASE_VALUE_BY_ID = {id(t): read for t, read in _BASE_VALUE.items()}
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement (or type())
_TYPE_DICT = type.__dict__["__dict__"]
_TYPE_NAME = type.__dict__["__qualname__"]
_TYPE_SHORT_NAME = type.__dict__["__name__"]
_TYPE_MODULE = type.__dict__["__module__"]
_TYPE_FLAGS = type.__dict__["__flags__"]
_TYPE_MRO = type.__dict__["__mro__"]
_EXC_ARGS = BaseException.__dict__["args"]
_DATES = {id(t): t for t in (datetime.date, datetime.datetime, datetime.time,
                             datetime.timedelta)}


class Unknown(Exception):
    """The answer has no canonical form; the message says why."""


def compare(a: Any, b: Any, form_of_a: Any = None) -> str:
    """SAME, DIFFERENT or UNKNOWN (either side has no canonical form).

    `form_of_a`: `Form(a)`, when `a` is compared again and again (the solution's answer).
    """
    kind = type(a)
    if kind is type(b) and id(kind) in _ATOMS:  # exact builtins: their == is the value's
        return SAME if a == b else DIFFERENT
    if kind is type(b) and (kind is list or kind is tuple) and len(a) == len(b) \
            and len(a) <= MAX_NODES and _atoms_only(a) and _atoms_only(b):
        # The common answer, at a tenth of the walk's cost: item types by identity
        # (`1 == True`), then the exact atoms' own ==.
        # Only exact builtin types here, whose == is identity.
        return SAME if list(map(type, a)) == list(map(type, b)) and a == b else DIFFERENT
    try:
        if form_of_a is not None:
            return str(form_of_a.compare(b))
        first, second = canonical(a), canonical(b)
    except Unknown:
        return UNKNOWN
    return SAME if first == second else DIFFERENT


def _atoms_only(items: Any) -> bool:
    return _ATOM_IDS.issuperset(map(id, map(type, items)))  # by id: no class's __hash__ runs


class Form:
    """A value's canonical form, made once (None when it has none)."""

    __slots__ = ("form", "why")

    def __init__(self, value: Any) -> None:
        self.form: Any = None
        self.why: str | None = None
        try:
            self.form = canonical(value)
        except Unknown as exc:
            self.why = str(exc)

    def compare(self, other: Any) -> str:
        if self.why is not None:
            return UNKNOWN
        try:
            return SAME if self.form == canonical(other) else DIFFERENT
        except Unknown:
            return UNKNOWN


def same(a: Any, b: Any) -> bool:
    """Known to be structurally equal."""
    return compare(a, b) == SAME


def why_unknown(value: Any) -> str | None:
    """Why `value` has no canonical form, or None when it has one."""
    try:
        canonical(value)
    except Unknown as exc:
        return str(exc)
    return None


def canonical(value: Any, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """A form of `value` made of exact builtin atoms and tuples only: equal forms mean
    structurally equal values. Raises Unknown when there is none."""
    walker = _Walker(max_depth, max_nodes)
    try:
        return walker.walk(value, 0)
    except Unknown:
        raise
    except (RecursionError, MemoryError):
        raise Unknown("too deep or too large to compare") from None
    except Exception as exc:  # a hostile object raising while it is looked at
        raise Unknown(f"could not be looked at ({type(exc).__name__})") from None


def class_key(cls: type) -> tuple[str, str]:
    """(module, qualified name) of a class, read past any metaclass' properties."""
    name = _TYPE_NAME.__get__(cls)
    try:
        module = _TYPE_MODULE.__get__(cls)
    except AttributeError:
        module = ""
    if type(name) is not str or type(module) is not str:
        raise Unknown("a class with a name that is not a string")
    return module, name


class _Walker:
    def __init__(self, max_depth: int, max_nodes: int) -> None:
        self.max_depth, self.nodes_left = max_depth, max_nodes
        self.path: set[int] = set()  # ids of the containers being walked: a cycle

    def walk(self, value: Any, depth: int) -> Any:
        self.nodes_left -= 1
        if self.nodes_left < 0:
            raise Unknown(f"more than {MAX_NODES} values to compare")
        if depth > self.max_depth:
            raise Unknown(f"nested deeper than {self.max_depth}")
        kind = type(value)
        if id(kind) in _ATOMS:
            return (_ATOMS[id(kind)], value)
        if kind is float:
            return ("float", _float(value))
        if kind is complex:
            return ("complex", _float(value.real), _float(value.imag))
        if id(value) in self.path:
            raise Unknown("a value that contains itself")
        self.path.add(id(value))
        try:
            return self._container(kind, value, depth + 1)
        finally:
            self.path.discard(id(value))

    def _container(self, kind: Any, value: Any, depth: int) -> Any:
        if id(kind) in _SEQUENCES:
            return (_SEQUENCES[id(kind)], self._items(list(kind.__iter__(value)), depth))
        if id(kind) in _MAPPINGS:
            ordered = kind is collections.OrderedDict
            form: tuple[Any, ...] = (_MAPPINGS[id(kind)], self._mapping(value, depth, ordered))
            if kind is collections.defaultdict:
                form += (self.walk(value.default_factory, depth),)
            return form
        if id(kind) in _SETS:
            return (_SETS[id(kind)], self._sorted(self._items(list(kind.__iter__(value)), depth)))
        if kind is range:
            return ("range", value.start, value.stop, value.step)
        if kind is slice:
            return ("slice", *self._items([value.start, value.stop, value.step], depth))
        if kind is decimal.Decimal:
            return ("Decimal", decimal.Decimal.__str__(value))
        if kind is fractions.Fraction:
            return ("Fraction", self.walk(value.numerator, depth),
                    self.walk(value.denominator, depth))
        if id(kind) in _DATES:
            if getattr(value, "tzinfo", None) is not None:
                raise Unknown("a date or time with a time zone")
            return (kind.__name__, kind.__repr__(value))
        if _inherits(kind, type):
            return ("class", *class_key(value))
        if _inherits(kind, BaseException):
            if not _TYPE_FLAGS.__get__(kind) & _HEAPTYPE:
                # A builtin exception's message is the interpreter's wording for how a
                # call failed ("not iterable" vs "not subscriptable"), not an answer.
                return ("exception", *class_key(kind))
            return ("exception", *class_key(kind), self.walk(_EXC_ARGS.__get__(value), depth),
                    self._state(value, depth))
        if _TYPE_FLAGS.__get__(kind) & _HEAPTYPE:
            return self._instance(kind, value, depth)
        raise Unknown(f"a {_TYPE_SHORT_NAME.__get__(kind)} cannot be compared by structure")

    def _items(self, items: list[Any], depth: int) -> tuple[Any, ...]:
        return tuple(self.walk(item, depth) for item in items)

    def _sorted(self, forms: tuple[Any, ...]) -> tuple[Any, ...]:
        # Forms are made of builtin atoms and tuples only: their reprs are ours, and total.
        return tuple(sorted(forms, key=repr))

    def _mapping(self, value: Any, depth: int, ordered: bool) -> tuple[Any, ...]:
        pairs = tuple((self.walk(k, depth), self.walk(v, depth))
                      for k, v in list(dict.items(value)))
        return pairs if ordered else self._sorted(pairs)

    def _instance(self, kind: type, value: Any, depth: int) -> Any:
        """An instance of a Python class: class name, builtin base's value, state."""
        base = next((b for b in _TYPE_MRO.__get__(kind)
                     if not _TYPE_FLAGS.__get__(b) & _HEAPTYPE), object)
        if id(base) not in _BASE_VALUE_BY_ID:
            raise Unknown(f"an instance of {class_key(kind)[1]}, a subclass of "
                          f"{_TYPE_SHORT_NAME.__get__(base)}, cannot be compared by structure")
        read = _BASE_VALUE_BY_ID[id(base)]
        inner = None if read is None else self.walk(read(value), depth)
        return ("object", *class_key(kind), inner, self._state(value, depth))

    def _state(self, value: Any, depth: int) -> tuple[Any, ...]:
        """The instance's `__dict__` and `__slots__` values, read by the C descriptors."""
        slots: list[tuple[str, Any]] = []
        attributes: Any = None
        for cls in _TYPE_MRO.__get__(type(value)):
            namespace = _TYPE_DICT.__get__(cls)
            if attributes is None and "__dict__" in namespace:
                descriptor = namespace["__dict__"]
                if type(descriptor) is not types.GetSetDescriptorType:
                    raise Unknown("a class that hides its instances' __dict__")
                attributes = descriptor.__get__(value)
            names = namespace.get("__slots__", ()) if _TYPE_FLAGS.__get__(cls) & _HEAPTYPE \
                else ()
            for name in [names] if type(names) is str else list(names):
                if type(name) is not str or name in ("__dict__", "__weakref__"):
                    continue
                descriptor = namespace.get(_mangled(cls, name))
                if type(descriptor) is not types.MemberDescriptorType:
                    raise Unknown("a class that hides its slots")
                try:
                    slots.append((name, self.walk(descriptor.__get__(value), depth)))
                except AttributeError:
                    slots.append((name, ("unset",)))
        state = () if attributes is None else self._mapping(attributes, depth, False)
        return state, tuple(slots)


def _inherits(kind: type, base: type) -> bool:
    """`kind` is `base` or a subclass of it, by its MRO (never by __class__ or a hook)."""
    return any(b is base for b in _TYPE_MRO.__get__(kind))


def _mangled(cls: type, name: str) -> str:
    if name.startswith("__") and not name.endswith("__"):
        return f"_{_TYPE_SHORT_NAME.__get__(cls).lstrip('_')}{name}"
    return name


def _float(x: float) -> str:
    return "nan" if math.isnan(x) else float.hex(x)


def compare_loosely(a: Any, b: Any, atol: float | None = None, unordered: bool = False) -> str:
    """`compare`, with floats equal within `atol` (plus 1e-7 relative; an int then meets an
    equal float) and, when `unordered`, a top-level list or tuple taken as a multiset."""
    if atol is None and not unordered:
        return compare(a, b)
    try:
        first, second = canonical(a), canonical(b)
    except Unknown:
        return UNKNOWN
    if unordered:
        first, second = _as_multiset(first), _as_multiset(second)
    if atol is None:
        return SAME if first == second else DIFFERENT
    return SAME if _close(first, second, atol) else DIFFERENT


def _as_multiset(form: Any) -> Any:
    if type(form) is tuple and len(form) == 2 and form[0] in ("list", "tuple"):
        return (form[0], tuple(sorted(form[1], key=repr)))
    return form


def _number(form: Any) -> float | None:
    if type(form) is tuple and len(form) == 2 and form[0] == "float" and form[1] != "nan":
        return float.fromhex(form[1])
    if type(form) is tuple and len(form) == 2 and form[0] == "int":
        try:
            return float(form[1])
        except OverflowError:
            return None
    return None


def _close(a: Any, b: Any, atol: float) -> bool:
    x, y = _number(a), _number(b)
    if x is not None and y is not None and "float" in (a[0], b[0]):
        return abs(x - y) <= atol + 1e-7 * abs(y)
    if type(a) is tuple and type(b) is tuple:
        return len(a) == len(b) and all(_close(p, q, atol) for p, q in zip(a, b, strict=True))
    return bool(a == b)
