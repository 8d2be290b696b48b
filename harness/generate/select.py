"""Stage (e): verify every (solution, test module) pair, cluster the candidates by
behaviour, and keep a solution from the largest cluster that passes with strong tests.

Behaviour, until a differential probe exists, is a candidate's pass/fail vector over the
union of every test module's tests (each candidate is run against each module): two
candidates that fail the same tests of every module behave alike as far as the tests can
tell. Clusters are ranked by size (the majority behaviour is the likeliest to be right),
then by how many modules they pass whole. The first cluster with a member whose pair
with some module is kept (passes, typechecks, strong tests) gives the sample; among its
modules the strongest (highest mutation score, then most tests) is chosen. Difficulty is
the share of the candidates asked for that pass the chosen module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from harness.generate.candidates import Case
from harness.records import Sample, Verdict

# Reasons that say the tests did not pass (as opposed to type errors or weak tests).
FAILING = {"syntax_error", "no_tests", "test_failed", "timeout", "memory_limit",
           "output_limit", "crashed", "missing_dependency"}


class Verifier(Protocol):
    """What verifying needs of `harness.session.Session` (its public `verify`)."""

    def verify(self, samples: Iterable[Sample]) -> Iterator[tuple[Sample, Verdict]]: ...


def pair_sample(case: Case, i: int, j: int) -> Sample:
    p = case.problem
    sol, tests = case.solutions[i], case.tests[j]
    # The attempt keeps ids unique within the Session (its unique-id filter remembers).
    return Sample(id=f"{p.id}-a{case.attempt}-s{sol.index}-t{tests.index}",
                  prompt=p.text.prompt, solution=sol.code, tests=tests.code,
                  entry_point=p.text.entry_point)


@dataclass
class Matrix:
    """Verdicts of one case: `verdicts[i][j]` for solution i against test module j."""

    verdicts: list[list[Verdict]]

    def passes(self, i: int, j: int) -> bool:
        return not FAILING & set(self.verdicts[i][j].reasons)

    def vector(self, i: int) -> tuple[Any, ...]:
        """Candidate i's behaviour: per module, the set of tests it does not pass."""
        out: list[Any] = []
        for verdict in self.verdicts[i]:
            tests = verdict.checks.get("tests", {})
            if self.passes(i, len(out)):
                out.append(frozenset())
            elif tests.get("not_passed"):
                out.append(frozenset(t["nodeid"] for t in tests["not_passed"]))
            else:  # no per-test record (timeout, crash, collection error): the status
                out.append(tests.get("status") or ",".join(verdict.reasons))
        return tuple(out)


def verify_cases(verifier: Verifier, cases: list[Case]) -> list[Matrix | None]:
    """One verify call for every pair of every case (the engine runs them in parallel);
    None for a case with no candidate or no test module."""
    wanted: list[tuple[int, int, int]] = []
    samples: list[Sample] = []
    for c, case in enumerate(cases):
        for i in range(len(case.solutions)):
            for j in range(len(case.tests)):
                wanted.append((c, i, j))
                samples.append(pair_sample(case, i, j))
    verdicts = [v for _, v in verifier.verify(samples)]
    grids: list[Matrix | None] = [
        Matrix([[Verdict(id="") for _ in case.tests] for _ in case.solutions])
        if case.solutions and case.tests else None for case in cases]
    for (c, i, j), verdict in zip(wanted, verdicts, strict=True):
        grid = grids[c]
        assert grid is not None
        grid.verdicts[i][j] = verdict
    return grids


@dataclass(frozen=True)
class Choice:
    """The kept pair of a case, its cluster and the case's difficulty."""

    solution: int
    tests: int
    cluster_size: int
    clusters: list[int]
    pass_rate: float
    mutation_score: float | None


def _strength(verdict: Verdict) -> tuple[float, int]:
    mutation = verdict.checks.get("probes", {}).get("mutation") or {}
    collected = verdict.checks.get("tests", {}).get("collected") or 0
    return float(mutation.get("score", 0.0)), int(collected)


def clusters_of(grid: Matrix) -> list[list[int]]:
    """Candidates grouped by behaviour vector, largest first (ties: more modules passed
    whole, then the earliest candidate)."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i in range(len(grid.verdicts)):
        groups.setdefault(grid.vector(i), []).append(i)

    def rank(item: tuple[tuple[Any, ...], list[int]]) -> tuple[int, int, int]:
        vector, members = item
        return (-len(members), -sum(1 for v in vector if v == frozenset()), members[0])

    return [members for _, members in sorted(groups.items(), key=rank)]


def choose(case: Case, grid: Matrix) -> Choice | None:
    """The kept pair, from the largest cluster that passes with strong tests, or None."""
    groups = clusters_of(grid)
    modules = range(len(case.tests))
    for members in groups:
        ranked = sorted(modules, key=lambda j: (_strength(grid.verdicts[members[0]][j]), -j),
                        reverse=True)
        for j in ranked:
            for i in members:
                if grid.verdicts[i][j].verdict == "keep":
                    passing = sum(1 for k in range(len(case.solutions)) if grid.passes(k, j))
                    score = grid.verdicts[i][j].checks.get("probes", {}).get("mutation", {})
                    return Choice(solution=i, tests=j, cluster_size=len(members),
                                  clusters=[len(g) for g in groups],
                                  pass_rate=round(passing / max(case.requested, 1), 3),
                                  mutation_score=(score or {}).get("score"))
    return None
