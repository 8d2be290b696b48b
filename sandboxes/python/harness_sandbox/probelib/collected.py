"""The tests, collected once, and the swap of the solution's objects wherever they hold them.

Collection happens once, in a forked child; each variant then runs in a process forked
from it, item by item (`itemrun`: no verdict from anything the sample can hook).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Any

from _pytest.outcomes import Skipped

from harness_sandbox.probelib import items as itemrun
from harness_sandbox.probelib.equivalence import CallTimeout, call_with_timeout

Record = dict[str, Any]


class Collected:
    """The tests, collected once, and the modules that may hold the solution's objects."""

    def __init__(self, workdir: str, tests_files: list[str],
                 warm: tuple[Any, Any] | None = None,
                 preloaded: frozenset[str] = frozenset()) -> None:
        """`warm`: a configured (config, session) for `workdir`, to skip configuring pytest.

        `preloaded`: modules loaded before the sample's files were: none of them is the
        sample's, so none needs a realpath (the fork server has hundreds).
        """
        from _pytest.assertion.rewrite import AssertionRewritingHook
        from _pytest.config import _prepareconfig
        from _pytest.main import Session

        if warm is not None:
            self.config, self.session = warm
        else:
            args = ["-q", "-s", "-p", "no:cacheprovider", "--rootdir", workdir, "-c",
                    os.devnull, f"--confcutdir={workdir}"]
            paths = [os.path.join(workdir, f) for f in tests_files] or [workdir]
            self.config = _prepareconfig([*args, *paths], plugins=[])
            self.session = Session.from_config(self.config)
            self.config._do_configure()
            self.config.hook.pytest_sessionstart(session=self.session)
        # Variants need pass or fail, not pytest's assertion messages: importing the tests
        # with plain asserts halves the collection, the probes' largest fixed cost.
        hooks = sys.meta_path[:]
        sys.meta_path[:] = [h for h in hooks if not isinstance(h, AssertionRewritingHook)]
        try:
            self.config.hook.pytest_collection(session=self.session)
        finally:
            sys.meta_path[:] = hooks
        self.items = list(self.session.items)
        self.workdir = os.path.realpath(workdir)
        # What each item's marks ask for, read once: every variant is forked after this.
        self._plans = [itemrun.plan(item) for item in self.items]
        self._seen = -1
        self._local: list[Any] = []
        # module name -> its file is in the work dir
        self._preloaded = preloaded
        self._verdicts: dict[str, bool] = {}

    def run(self, limit: tuple[float, float] | None = None, explain: bool = False) -> Record:
        """Run every item in this (forked) process: {"passed", "ran", "failed", ...}.

        `limit`: (CPU seconds, wall seconds) before the run is cut as a timeout.
        `explain`: a failure's message names the line of the sample's that raised (the
        asserts are plain: there are no compared values to show).
        """
        for kind in {type(item) for item in self.items}:
            # A variant only needs pass/fail: skip building tracebacks (10x the cost).
            kind.repr_failure = lambda self, excinfo, style=None: excinfo.exconly()[:300]
        outcomes = {"tests_passed": 0, "tests_skipped": 0}
        began, began_cpu = time.monotonic(), time.process_time()

        state = self.session._setupstate
        logging_plugin = self.config.pluginmanager.get_plugin("logging-plugin")

        def loop() -> Record:
            for i, item in enumerate(self.items):
                nextitem = self.items[i + 1] if i + 1 < len(self.items) else None
                try:  # judged by what it raises: no report or hook of pytest's has a say
                    passed = itemrun.run(item, nextitem, state, self._plans[i], logging_plugin)
                except CallTimeout:
                    raise
                except Skipped:
                    outcomes["tests_skipped"] += 1
                    continue
                except BaseException as exc:
                    where = self._where(exc) if explain else ""
                    return {"passed": False, "ran": i + 1, "failed": item.nodeid,
                            "message": f"{where}{type(exc).__name__}: {exc}"[:300]}
                outcomes["tests_passed" if passed else "tests_skipped"] += 1
            return {"passed": True, "ran": len(self.items), **outcomes}

        try:
            record = loop() if limit is None else call_with_timeout(loop, *limit)
        except CallTimeout:
            record = {"passed": False, "ran": 0, "failed": "timeout"}
        finally:
            with contextlib.suppress(BaseException):  # the next variant starts with no fixture
                self.session._setupstate.teardown_exact(None)
        record["seconds"] = time.monotonic() - began
        record["cpu"] = time.process_time() - began_cpu
        return record

    def _where(self, exc: BaseException) -> str:
        """"file:line: source" of the innermost frame in the work dir that `exc` went
        through, and a newline; "" when there is none."""
        import linecache
        import traceback

        with contextlib.suppress(Exception):
            for frame in reversed(traceback.extract_tb(exc.__traceback__)):
                path = os.path.realpath(frame.filename)
                if path.startswith(self.workdir + os.sep):
                    line = linecache.getline(path, frame.lineno or 0).strip()
                    return f"{os.path.relpath(path, self.workdir)}:{frame.lineno}: {line}\n"
        return ""

    def local_modules(self) -> list[Any]:
        """The loaded modules whose files are in the work dir (cached until one is added).

        Each module is judged once (realpath costs a stat call per path component), and
        only the modules loaded since `preloaded`: in a forked child, merely touching the
        hundreds of others copies the pages they are on (a millisecond).
        """
        if self._seen != len(sys.modules):
            self._seen = len(sys.modules)
            self._local = []
            for name in sorted(sys.modules.keys() - self._preloaded):
                module = sys.modules.get(name)
                local = self._verdicts.get(name)
                if local is None:
                    path = getattr(module, "__file__", None) or ""
                    local = self._verdicts[name] = isinstance(path, str) and bool(path) and \
                        os.path.realpath(path).startswith(self.workdir + os.sep)
                if local:
                    self._local.append(module)
        return self._local

    def rebind(self, mapping: dict[int, Any], also: tuple[Any, ...] = ()) -> None:
        """Point every name the tests hold for a key (by id) at the new object.

        Only names still bound to the key move: what the tests replaced stays replaced.
        `also`: more modules to treat so (the solution module itself, for stand-ins).
        """
        for module in [*self.local_modules(), *also]:
            if module.__name__ == "solution" and module not in also:
                continue
            holders: list[Any] = [module]
            holders += [v for v in vars(module).values()
                        if isinstance(v, type) and v.__module__ == module.__name__]
            for holder in holders:  # module globals and test classes' attributes
                for name, value in list(vars(holder).items()):
                    if id(value) in mapping:
                        setattr(holder, name, mapping[id(value)])
                    elif id(type(value)) in mapping and isinstance(mapping[id(type(value))],
                                                                   type):
                        _swap_class(value, mapping[id(type(value))])
                    elif isinstance(value, staticmethod | classmethod) and \
                            id(value.__func__) in mapping:
                        setattr(holder, name, type(value)(mapping[id(value.__func__)]))
        for item in self.items:  # objects passed through @pytest.mark.parametrize
            params = getattr(getattr(item, "callspec", None), "params", {})
            for name, value in list(params.items()):
                if id(value) in mapping:
                    params[name] = mapping[id(value)]


def _swap_class(instance: Any, cls: type) -> None:
    """An instance the tests made at import time behaves as the variant's class."""
    with contextlib.suppress(TypeError):  # incompatible layout: it keeps the real behaviour
        instance.__class__ = cls


