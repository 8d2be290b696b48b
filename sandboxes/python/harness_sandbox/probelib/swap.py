"""Installing a variant in place: the solution's own objects take on the variant's behaviour.

Each variant runs in a process forked after the tests were collected and before anything
ran, so it is installed once and never undone. Nothing the tests hold changes identity:
a function keeps its object and takes the variant's code (compiled under the solution's
own file name), a class keeps its object and takes the variant's members, a
`functools` wrapper or `partial` keeps its object and wraps the variant. So a reference
kept at import, in a default argument, a container or a wrapper reaches the variant, and
an identity check, `co_filename` or the stack cannot tell it from the real one.

Also here: the run-time tamper check (`snapshot`, `tampered`).
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import types
import warnings
from typing import Any

_MISSING = object()
# Class attributes a type makes for itself: never copied from a variant's class.
_OWN = frozenset({"__dict__", "__weakref__", "__module__", "__qualname__", "__doc__"})

with warnings.catch_warnings():  # "'ellipsis' object is not callable": it won't be
    warnings.simplefilter("ignore")
    _TRAMPOLINE: types.CodeType = next(
        c for c in compile("def f(*args, **kwargs):\n    return ...(*args, **kwargs)\n",
                           "<stand-in>", "exec").co_consts
        if isinstance(c, types.CodeType))


def retarget(code: types.CodeType, filename: str) -> types.CodeType:
    """`code` and the code nested in it, as if compiled from `filename`."""
    consts = tuple(retarget(c, filename) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def install_mutant(module: types.ModuleType, code: types.CodeType,
                   defined: dict[str, Any]) -> dict[int, Any]:
    """Run the mutant's `code` in `module`'s own namespace (so what the module builds at
    import, caches and wrappers included, is built from the mutant), then give the
    objects the module had (`defined`, before any test ran) the mutant's behaviour and
    put them back. What the tests replaced in the module stays replaced.

    Returns {id(old): new} for the definitions that could not change in place (a
    closure of another size, say): those must be swapped wherever the tests hold them."""
    namespace = vars(module)
    before = dict(namespace)
    filename = getattr(module, "__file__", None)  # what the real code objects carry
    if isinstance(filename, str):
        code = retarget(code, filename)
    exec(code, namespace)
    moved: dict[int, Any] = {}
    left: dict[int, Any] = {}
    for name, old in before.items():
        if name.startswith("__") and name.endswith("__"):
            namespace[name] = old
            continue
        real, new = defined.get(name, _MISSING), namespace.get(name, _MISSING)
        if real is _MISSING or new is _MISSING or new is real:
            namespace[name] = old
            continue
        if transplant(real, new, moved):  # the real object now behaves as the mutant's
            new = real
        elif callable(real):
            left[id(real)] = new
        # What the tests replaced in the module stays replaced.
        namespace[name] = new if old is real else old
    return left


def transplant(old: Any, new: Any, moved: dict[int, Any]) -> bool:
    """Make `old` behave as `new` in place; False when it can't (then `new` replaces it).

    `moved`: id of a new object -> the old one that now stands for it (closure cells that
    hold a new class, as `super()`'s do, are pointed back at the old one)."""
    if id(new) in moved:
        return moved[id(new)] is old
    if isinstance(old, types.FunctionType) and isinstance(new, types.FunctionType):
        if len(old.__closure__ or ()) != len(new.__closure__ or ()):
            return False
        moved[id(new)] = old
        old.__code__ = new.__code__
        old.__defaults__, old.__kwdefaults__ = new.__defaults__, new.__kwdefaults__
        for cell, fresh in zip(old.__closure__ or (), new.__closure__ or (), strict=True):
            try:
                value = fresh.cell_contents
            except ValueError:  # an empty cell
                continue
            cell.cell_contents = moved.get(id(value), value)
        if "__wrapped__" in vars(new):
            vars(old)["__wrapped__"] = vars(new)["__wrapped__"]
        return True
    if type(old) is not type(new):
        return False
    if isinstance(old, functools.partial):
        func = old.func if transplant(old.func, new.func, moved) else new.func
        _set_partial(old, func, new.args, new.keywords, vars(new))
        return True
    if isinstance(old, staticmethod | classmethod):
        return transplant(old.__func__, new.__func__, moved)
    if isinstance(old, property):
        return all(o is n or (o is not None and n is not None and transplant(o, n, moved))
                   for o, n in ((old.fget, new.fget), (old.fset, new.fset),
                                (old.fdel, new.fdel)))
    if isinstance(old, type):
        moved[id(new)] = old
        for name, member in list(vars(new).items()):
            if name in _OWN:
                continue
            current = vars(old).get(name, _MISSING)
            if current is member or (current is not _MISSING and
                                     transplant(current, member, moved)):
                continue
            try:
                setattr(old, name, member)
            except (AttributeError, TypeError):
                return False
        return True
    wrapped = getattr(old, "__wrapped__", _MISSING)
    if wrapped is not _MISSING and callable(getattr(old, "cache_clear", None)):
        # functools.cache / lru_cache: the old wrapper calls the old function, which now
        # runs the mutant's code; what it cached at import was the real one's answers.
        if not transplant(wrapped, getattr(new, "__wrapped__", None), moved):
            return False
        old.cache_clear()
        return True
    return False


def _set_partial(target: functools.partial[Any], func: Any, args: tuple[Any, ...],
                 keywords: dict[str, Any], namespace: dict[str, Any]) -> None:
    """Point the `partial` object itself at `func` (its fields are read-only)."""
    state = (func, tuple(args), dict(keywords) or None, dict(namespace) or None)
    getattr(target, "__setstate__")(state)  # noqa: B009 (typeshed does not declare it)


def install_stand_in(target: Any, stand_in: Any) -> bool:
    """Make the entry point `target` behave as `stand_in` in place; False when it can't."""
    if isinstance(target, types.FunctionType):
        code = _TRAMPOLINE.replace(
            co_consts=tuple(stand_in if c is Ellipsis else c for c in _TRAMPOLINE.co_consts),
            co_name=target.__code__.co_name, co_qualname=target.__code__.co_qualname,
            co_filename=target.__code__.co_filename,
            co_firstlineno=target.__code__.co_firstlineno)
        if target.__closure__:  # the trampoline has no free variables
            return False
        target.__code__, target.__defaults__, target.__kwdefaults__ = code, None, None
        return True
    if isinstance(target, functools.partial):
        _set_partial(target, stand_in, (), {}, vars(target))
        return True
    if isinstance(target, type) and isinstance(stand_in, type):
        for name, member in vars(stand_in).items():
            if name not in _OWN:
                try:
                    setattr(target, name, member)
                except (AttributeError, TypeError):
                    return False
        return True
    wrapped = getattr(target, "__wrapped__", None)
    if wrapped is not None and callable(getattr(target, "cache_clear", None)):
        if not install_stand_in(wrapped, stand_in):
            return False
        target.cache_clear()
        return True
    return False


# ---------------------------------------------------------------- tampering

Snapshot = tuple[dict[str, Any], dict[str, Any]]


def snapshot(solution: types.ModuleType) -> Snapshot:
    """The builtins' and the solution's namespaces as they are (values by identity)."""
    return dict(vars(builtins)), dict(vars(solution))


def _definition(value: Any) -> bool:
    return callable(value) or isinstance(value, types.ModuleType)


def tampered(before: Snapshot, solution: types.ModuleType) -> list[list[str]]:
    """[what, how] for each builtin and each of the solution's definitions that was
    replaced, added or removed since `before`. The solution's plain values (a counter,
    a cache it rebinds) are its own business; its functions, classes and modules are
    what a test that patches them would change."""
    found: list[list[str]] = []
    for prefix, old, now in (("builtins", before[0], vars(builtins)),
                             ("solution", before[1], vars(solution))):
        for name in sorted(old.keys() | now.keys()):
            if prefix == "solution" and name.startswith("__") and name.endswith("__"):
                continue
            was, value = old.get(name, _MISSING), now.get(name, _MISSING)
            if was is value:
                continue
            if prefix == "solution" and not (_definition(was) or _definition(value)):
                continue
            how = "added" if was is _MISSING else "removed" if value is _MISSING else \
                "replaced"
            found.append([f"{prefix}.{name}"[:200], how])
    return found[:20]


def restore_builtins(before: Snapshot) -> None:
    """The builtins as `before` saw them (after reporting what changed)."""
    namespace = vars(builtins)
    for name in namespace.keys() - before[0].keys():
        del namespace[name]
    namespace.update(before[0])


# ---------------------------------------------------------------- undoing a variant

# What installing a variant may change, as it was: (object, what kind, its state).
Saved = list[tuple[Any, str, Any]]


def save(roots: list[Any], module: str = "solution") -> Saved:
    """The state `install_mutant` and `install_stand_in` may change in place, of the
    solution's objects reachable from `roots` as `transplant` walks them (functions'
    code, defaults, closures and attributes; partials' fields; classes' members), so
    that `undo` puts exactly that back (not a cache's entries: it stays cleared)."""
    saved: Saved = []
    seen: set[int] = set()

    def walk(obj: Any) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, types.FunctionType):
            if obj.__module__ != module:
                return
            cells = []
            for cell in obj.__closure__ or ():
                try:
                    cells.append((cell, cell.cell_contents))
                except ValueError:
                    cells.append((cell, _MISSING))
            saved.append((obj, "function", (obj.__code__, obj.__defaults__,
                                            obj.__kwdefaults__, cells, dict(vars(obj)))))
            for _cell, value in cells:
                walk(value)
        elif isinstance(obj, functools.partial):
            saved.append((obj, "partial", obj.__reduce__()[2]))
            walk(obj.func)
        elif isinstance(obj, staticmethod | classmethod):
            walk(obj.__func__)
        elif isinstance(obj, property):
            for part in (obj.fget, obj.fset, obj.fdel):
                walk(part)
        elif isinstance(obj, type):
            if obj.__module__ != module:
                return
            members = dict(vars(obj))
            saved.append((obj, "class", members))
            for member in members.values():
                walk(member)
        elif callable(getattr(obj, "cache_clear", None)):
            wrapped = getattr(obj, "__wrapped__", None)
            if wrapped is not None:
                walk(wrapped)

    for root in roots:
        walk(root)
    return saved


def undo(saved: Saved) -> None:
    """Put back what `save` saw (the objects keep their identity)."""
    for obj, kind, state in saved:
        if kind == "function":
            code, defaults, kwdefaults, cells, attributes = state
            if obj.__code__ is not code:
                obj.__code__ = code
            obj.__defaults__, obj.__kwdefaults__ = defaults, kwdefaults
            for cell, value in cells:
                if value is _MISSING:
                    with contextlib.suppress(ValueError):
                        del cell.cell_contents
                elif cell.cell_contents is not value:
                    cell.cell_contents = value
            namespace: dict[str, Any] = obj.__dict__
            if namespace.keys() != attributes.keys() or any(
                    namespace[k] is not v for k, v in attributes.items()):
                namespace.clear()
                namespace.update(attributes)
        elif kind == "partial":
            getattr(obj, "__setstate__")(state)  # noqa: B009
        else:  # a class
            now = vars(obj)
            for name in [n for n in now if n not in state]:
                delattr(obj, name)
            for name, member in state.items():
                if now.get(name, _MISSING) is not member and name not in _OWN:
                    setattr(obj, name, member)
