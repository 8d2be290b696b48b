"""Parked containers: left warm by one pool, adopted by the next of the same spec, gone
by themselves when nobody comes, and never taken by the reaper while they wait."""

from __future__ import annotations

import time
import uuid

import pytest

from harness.sandbox.docker_io import client
from harness.sandbox.pool import ContainerSpec, Pool, reap_orphans
from harness.sandbox.result import Limits, PytestJob, Status
from harness.sandbox.slot import LABEL_PID, LABEL_SLOT, PARKED, owner_labels

GOOD = {"solution.py": "def one():\n    return 1\n",
        "test_solution.py": "from solution import one\n\ndef test_one():\n    assert one() == 1\n"}


def parked_ids() -> set[str]:
    return {c.id for c in client().containers.list(ignore_removed=True, filters={"name": PARKED})}


def gone(container_id: str) -> bool:
    listed = client().containers.list(all=True, ignore_removed=True)
    return container_id not in {c.id for c in listed}


@pytest.fixture
def spec(sandbox_image: str) -> ContainerSpec:
    # Its own spec (a distinct tmpfs size), so that no other test's parked container fits.
    return ContainerSpec(image=sandbox_image, tmp_mb=63)


def test_a_parked_container_is_adopted_by_the_next_pool(spec: ContainerSpec) -> None:
    before = parked_ids()
    with Pool(size=1, image=spec.image, spec=spec, keep_warm=60) as first:
        assert first.adopted == 0
        assert first.run(GOOD, PytestJob(), Limits(timeout=5)).status is Status.OK
        container_id = first._slots[0].container.id
    assert parked_ids() - before == {container_id}  # still running, waiting
    assert reap_orphans() >= 0 and container_id in parked_ids()  # not an orphan
    with Pool(size=1, image=spec.image, spec=spec) as plain:
        assert plain.adopted == 0  # a library pool adopts only when asked to
        assert plain._slots[0].container.id != container_id
    with Pool(size=1, image=spec.image, spec=spec, adopt=True) as second:
        assert second.adopted == 1 and second._slots[0].container.id == container_id
        result = second.run(GOOD, PytestJob(), Limits(timeout=5))
        assert result.status is Status.OK and [t.outcome for t in result.tests] == ["passed"]
    deadline = time.monotonic() + 10
    while not gone(container_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(container_id)  # the second pool had no keep_warm: removed


def test_an_unadopted_parked_container_ends_itself(spec: ContainerSpec) -> None:
    with Pool(size=1, image=spec.image, spec=spec, keep_warm=1) as pool:
        assert pool.run(GOOD, PytestJob(), Limits(timeout=5)).status is Status.OK
        container_id = pool._slots[0].container.id
    assert container_id in parked_ids()
    deadline = time.monotonic() + 15
    while not gone(container_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert gone(container_id)


def test_only_the_same_spec_adopts_and_a_failed_run_parks_nothing(
        spec: ContainerSpec) -> None:
    with Pool(size=1, image=spec.image, spec=spec, keep_warm=60) as pool:
        container_id = pool._slots[0].container.id
    other = ContainerSpec(image=spec.image, tmp_mb=62)
    with Pool(size=1, image=spec.image, spec=other, keep_warm=60) as stranger:
        assert stranger.adopted == 0
        assert stranger._slots[0].container.id != container_id
        stranger_id = stranger._slots[0].container.id
    with pytest.raises(RuntimeError), Pool(size=1, image=spec.image, spec=spec,
                                           keep_warm=60) as failing:
        assert failing._slots[0].container.id == container_id
        raise RuntimeError("the run failed")
    time.sleep(0.5)
    assert gone(container_id)  # a pool left through an exception removes, not parks
    with Pool(size=1, image=spec.image, spec=other, adopt=True) as cleanup:
        assert cleanup._slots[0].container.id == stranger_id


def test_the_reaper_leaves_containers_it_holds_no_lock_file_for(sandbox_image: str) -> None:
    # Another user's pool on the same engine: its lock files are in its own folder.
    labels = {**owner_labels("someone-else"), LABEL_SLOT: uuid.uuid4().hex}
    labels[LABEL_PID] = "1"  # not a live harness of ours either
    theirs = client().containers.run(sandbox_image, ["sleep", "60"], detach=True,
                                     network_mode="none", labels=labels, auto_remove=True)
    try:
        reap_orphans()
        assert not gone(theirs.id)
    finally:
        theirs.remove(force=True)
