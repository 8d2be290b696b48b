"""What the in-sandbox probes aim at: the entry point, checked against the solution, or,
when none is given, every public function or class of the solution that the tests use.

Several targets mean several probe jobs, whose replies are merged here into one: a
stand-in of any target that passes the tests makes them trivial, and a mutant (the same
mutants each time: they are of the whole module) is killed if any job killed it and
likely equivalent only if every job found it so.
"""

from __future__ import annotations

import ast
from typing import Any


def _tree(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _defined(tree: ast.Module) -> dict[str, ast.stmt]:
    """Top-level names the module binds, with the statement that binds them."""
    out: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = node
    return out


def targets(solution: str, tests: str, entry_point: str | None) -> tuple[list[str], str]:
    """The names to probe, or ([], why not)."""
    tree = _tree(solution)
    if tree is None:
        return [], "the solution does not parse for the probes"
    defined = _defined(tree)
    if entry_point:
        head, _, attr = entry_point.partition(".")
        node = defined.get(head)
        if node is None:
            return [], f"the entry point {entry_point!r} is not defined by the solution"
        if attr:  # Class.method: the class's stand-in replaces every public method
            if not isinstance(node, ast.ClassDef) or attr not in _defined(
                    ast.Module(body=node.body, type_ignores=[])):
                return [], f"the entry point {entry_point!r} is not defined by the solution"
        return [head], ""
    test_tree = _tree(tests)
    used: set[str] = set()
    if test_tree is not None:
        for seen in ast.walk(test_tree):
            if isinstance(seen, ast.Name):
                used.add(seen.id)
            elif isinstance(seen, ast.Attribute):
                used.add(seen.attr)
            elif isinstance(seen, ast.alias):
                used.add(seen.asname or seen.name)
                used.add(seen.name)
    public = [name for name, node in defined.items() if not name.startswith("_")
              and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
              and name in used]
    if not public:
        return [], "no entry point, and the tests call no public function of the solution"
    return public, ""


def merge(replies: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One probe reply from the replies of several targets' jobs (in target order)."""
    if len(replies) == 1:
        return replies[0][1]
    out: dict[str, Any] = {"stubs": [], "mutants": [], "skipped": [], "errors": []}
    by_id: dict[Any, list[dict[str, Any]]] = {}
    for target, data in replies:
        if isinstance(data.get("baseline_failed"), dict) and "baseline_failed" not in out:
            out["baseline_failed"] = data["baseline_failed"]
        out["stubs"] += [{**s, "name": f"{target}: {s.get('name')}"}
                         for s in data.get("stubs") or []]
        out["skipped"] += [f"{target}: {s}" for s in data.get("skipped") or []]
        out["errors"] += [f"{target}: {e}" for e in data.get("errors") or []]
        if data.get("tampering"):
            out.setdefault("tampering", []).extend(data["tampering"])
        if data.get("mutants_failed") and "mutants_failed" not in out:
            out["mutants_failed"] = data["mutants_failed"]
        for mutant in data.get("mutants") or []:
            by_id.setdefault(mutant.get("id"), []).append(mutant)
    for seen in by_id.values():
        merged = dict(seen[0])
        merged["killed"] = any(m.get("killed") for m in seen)
        found = next((m["distinguishing_input"] for m in seen
                      if m.get("distinguishing_input")), None)
        merged["distinguishing_input"] = found
        merged["equivalent"] = (False if found else
                                True if all(m.get("equivalent") is True for m in seen)
                                else None)
        out["mutants"].append(merged)
    reports = [(t, d["differential"]) for t, d in replies
               if isinstance(d.get("differential"), dict)]
    if reports:  # any target's difference decides; else any error; else they agree
        pick = next((r for r in reports if r[1].get("verdict") == "differs"),
                    next((r for r in reports if r[1].get("verdict") == "error"), reports[0]))
        out["differential"] = {**pick[1], "target": pick[0],
                               "compared": sum(int(r.get("compared") or 0) for _, r in reports)}
    scored = [d.get("mutation_score") for _, d in replies]
    counted = [m for m in out["mutants"] if m.get("equivalent") is not True]
    if all(s is not None for s in scored) and counted:
        out["mutation_score"] = round(sum(bool(m.get("killed")) for m in counted)
                                      / len(counted), 4)
    else:
        out["mutation_score"] = None
    return out
