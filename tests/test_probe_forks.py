"""fork_many(isolate=True): each body in a process of its own, forked ahead of its turn."""

from __future__ import annotations

import os
from typing import Any

from harness_sandbox.probelib import forks
from harness_sandbox.probelib.forks import fork_many

Record = dict[str, Any]


def test_isolated_bodies_see_pristine_state_and_learn_what_went_out_before() -> None:
    state: list[int] = []
    learnt: list[int] = []

    def prepare() -> None:
        state.append(0)  # the state every body is forked from

    def after(index: int, record: Record) -> None:
        learnt.append(index)  # in the child: later forks see it, a spare may not
        record["tests_passed"] = index

    def body(i: int) -> Any:
        def run() -> Record:
            state.append(i)  # what a first-run-only test would leave behind
            seen = [r["tests_passed"] for r in forks.earlier()]
            # What the child learnt plus what went out after this process was forked:
            # every body before this one, once and in order.
            known = learnt + seen
            return {"ran": len(state), "message": f"{known} {os.getpid()}"}
        return run

    records = fork_many([body(i) for i in range(6)], 5.0, prepare=prepare, isolate=True,
                        after=after)
    assert [r["ran"] for r in records] == [2] * 6  # nothing of another body's is seen
    assert [r["tests_passed"] for r in records] == list(range(6))
    for i, record in enumerate(records):
        known, _pid = record["message"].rsplit(" ", 1)
        assert known == str(list(range(i))), records
    assert len({r["message"].rsplit(" ", 1)[1] for r in records}) == 6  # six processes


def test_an_isolated_body_that_dies_is_reported_and_the_next_goes_on() -> None:
    def dies() -> Record:
        os._exit(3)

    def writes_everywhere() -> Record:
        # A body can't reach the child's own channel: only its own pipe is open.
        forged = b'{"ran": 1, "passed": true}\n'
        reached = []
        for fd in range(3, 64):
            try:
                os.write(fd, forged)
                reached.append(fd)
            except OSError:
                pass
        return {"ran": 1, "message": str(reached)}

    records = fork_many([lambda: {"ran": 1}, dies, writes_everywhere, lambda: {"ran": 4}],
                        5.0, isolate=True)
    assert records[0] == {"ran": 1} and records[1] == {"crashed": "no complete record"}
    assert records[3] == {"ran": 4}
    # The forged line went to the body's own pipe, where it is that body's record.
    assert records[2] == {"ran": 1, "passed": True}
