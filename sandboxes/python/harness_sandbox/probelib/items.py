"""Running one collected item with no verdict from anything the sample can hook.

pytest's protocol takes an item's verdict from reports that any plugin, the tests' own
included, can rewrite (`pytest_runtest_makereport`), and calls the test through a hook
(`pytest_pyfunc_call`) that a plugin can answer without calling it. Here the item is set
up (`SetupState`: fixtures), called and torn down directly, and judged by what those
raise. What honest suites rely on from pytest's plugins is done here too: skip, skipif
and xfail marks, `filterwarnings` marks, `caplog`'s handler, `tmp_path`'s bookkeeping.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from _pytest.outcomes import Skipped


class XPassedStrict(AssertionError):
    """A strict xfail's test passed: pytest fails it."""


@dataclass(frozen=True)
class Plan:
    """What an item's marks ask for, read once after collection (before any run)."""

    skip: str | None  # the reason, when a skip/skipif mark applies
    xfail: Any  # _pytest.skipping.Xfail or None
    filters: tuple[tuple[Any, ...], ...]  # warnings.filterwarnings arguments
    caplog: bool  # the item uses the caplog fixture: the logging plugin's handler
    error: BaseException | None = None  # reading the marks failed: the item fails


def plan(item: Any) -> Plan:
    from _pytest.config import parse_warning_filter
    from _pytest.skipping import evaluate_skip_marks, evaluate_xfail_marks

    try:
        skip, xfail = evaluate_skip_marks(item), evaluate_xfail_marks(item)
    except BaseException as exc:  # a skipif condition that raises: pytest fails it too
        return Plan(skip=None, xfail=None, filters=(), caplog=False, error=exc)
    filters = tuple(tuple(parse_warning_filter(arg, escape=False))
                    for mark in item.iter_markers(name="filterwarnings") for arg in mark.args)
    return Plan(skip=None if skip is None else skip.reason or "skipped",
                xfail=xfail, filters=filters,
                caplog="caplog" in getattr(item, "fixturenames", ()))


def run(item: Any, nextitem: Any, state: Any, how: Plan, logging_plugin: Any) -> bool:
    """Set up, call and tear down `item`; True if it passed, False if skipped (or
    xfailed); raises what made it fail."""
    from _pytest.tmpdir import tmppath_result_key

    if how.error is not None:
        state.teardown_exact(nextitem)
        raise how.error
    if how.skip is not None:
        state.teardown_exact(nextitem)
        return False
    if how.xfail is not None and not how.xfail.run:
        state.teardown_exact(nextitem)
        return False
    if callable(getattr(item, "_initrequest", None)):
        item._initrequest()  # fresh fixture values, as pytest's protocol gives each run
    results = item.stash.setdefault(tmppath_result_key, {})
    passed = False
    try:
        with warnings.catch_warnings():
            for args in how.filters:
                warnings.filterwarnings(*args)
            with _logging(item, how, logging_plugin, "setup"):
                state.setup(item)
            results["setup"] = True
            try:
                with _logging(item, how, logging_plugin, "call"):
                    _call(item)
            except Skipped:
                raise
            except BaseException as exc:
                xfail = how.xfail
                if xfail is None or (xfail.raises is not None and
                                     not isinstance(exc, xfail.raises)):
                    raise
                results["call"] = True
                return False
            if how.xfail is not None and how.xfail.strict:
                raise XPassedStrict(f"[XPASS(strict)] {how.xfail.reason}")
            results["call"] = passed = True
    finally:
        with warnings.catch_warnings():
            for args in how.filters:
                warnings.filterwarnings(*args)
            with _logging(item, how, logging_plugin, "teardown"):
                state.teardown_exact(nextitem)
    return passed


@contextlib.contextmanager
def _logging(item: Any, how: Plan, plugin: Any, when: str) -> Iterator[None]:
    if not how.caplog or plugin is None:
        yield
        return
    from _pytest.logging import caplog_records_key

    if when == "setup":
        item.stash[caplog_records_key] = {}
    made = plugin._runtest_for(item, when)  # a context manager, or its bare generator
    if not hasattr(made, "__enter__"):
        made = contextlib.contextmanager(lambda: made)()
    with made:
        yield


def _call(item: Any) -> None:
    """The test itself: a test function called with its fixtures' values (not through
    `pytest_pyfunc_call`); unittest's through its TestCase, judged by the errors that
    recorded; anything else by its own `runtest`."""
    from _pytest.python import Function
    from _pytest.unittest import TestCaseFunction

    if isinstance(item, TestCaseFunction):
        item._excinfo = None
        item.runtest()
        excinfo: list[Any] = list(item._excinfo or ())
        if excinfo:
            raise excinfo[0].value
        return
    if type(item) is not Function:
        item.runtest()
        return
    names = item._fixtureinfo.argnames
    result = item.obj(**{name: item.funcargs[name] for name in names})
    if inspect.iscoroutine(result):
        result.close()
    if inspect.iscoroutine(result) or inspect.isasyncgen(result):
        raise TypeError("async def functions are not natively supported")
