"""Prompt templates: named, versioned, hashed; each names itself in its system message.

A template's hash goes into every sample's provenance and the manifest, so a change of
wording is visible in the data. The name in the system message (`[template NAME]`) lets a
scripted test server, or a person reading logs, tell what was asked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from string import Template as _Text

# The five WizardCoder Evol-Instruct methods (Luo et al. 2023), in their order.
EVOLVE_METHODS: dict[str, str] = {
    "constraints": "Add one new constraint or requirement to the problem (about 10 to 20 "
                   "more words).",
    "rarer_requirement": "Replace a commonly used requirement of the problem with a less "
                         "common and more specific one.",
    "reasoning_steps": "If the problem can be solved with only a few logical steps, add "
                       "more reasoning steps to it.",
    "misdirection": "Provide a piece of erroneous Python code as a reference, to increase "
                    "misdirection, and ask for a correct solution.",
    "complexity": "Propose a higher time or space complexity requirement for the problem "
                  "(do not do this often).",
}


@dataclass(frozen=True)
class Template:
    """A chat prompt: a system message and a user message with `$name` placeholders."""

    name: str
    system: str
    user: str

    @property
    def digest(self) -> str:
        """sha256 (first 16 hex digits) of the template's text."""
        blob = f"{self.name}\0{self.system}\0{self.user}".encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def messages(self, **values: str) -> list[dict[str, str]]:
        """The chat messages with `values` substituted (a missing value is an error)."""
        return [
            {"role": "system", "content": f"[template {self.name}] {self.system}"},
            {"role": "user", "content": _Text(self.user).substitute(values)},
        ]


PROBLEM = Template(
    name="problem.v1",
    system="You write short, self-contained Python programming problems for a dataset.",
    user="""Here are some example problems:

$examples

Write ONE new problem that is different from all the examples: a new task, not a
variation of one of them. Do not write a solution. Reply in exactly this format:

Problem: <the task in 2 to 6 sentences: what the function takes, what it returns,
and how edge cases behave>
Signature:
```python
def function_name(argument: type) -> type:
```""",
)

SOLUTION = Template(
    name="solution.v1",
    system="You are an expert Python programmer. You write correct, type-annotated code.",
    user="""Solve this problem in Python.

$problem

Reply with the complete solution in one ```python code block that defines
`$entry_point`. Use type hints. Do not include tests, prints or example usage.""",
)

TESTS = Template(
    name="tests.v1",
    system="You are an expert at testing Python code with pytest.",
    user="""Write pytest tests for a solution of this problem. Do not write the solution.

$problem

The code under test is imported with `from solution import $entry_point`. Write test
functions named test_* with plain assert statements. Cover normal cases, edge cases and
boundaries, with exact expected values worked out from the problem statement. Reply with
one ```python code block.""",
)

REPAIR_SOLUTION = Template(
    name="repair-solution.v1",
    system="You are an expert Python programmer. You fix code from test evidence.",
    user="""This solution of the problem below was rejected when it was run in a sandbox.

$problem

The solution:
```python
$solution
```

What the sandbox found:
$evidence

Reply with the corrected complete solution in one ```python code block that defines
`$entry_point`. No tests, prints or example usage.""",
)

REPAIR_TESTS = Template(
    name="repair-tests.v1",
    system="You are an expert at testing Python code with pytest.",
    user="""These pytest tests of the problem below were rejected as too weak or wrong.

$problem

The tests:
```python
$tests
```

What the sandbox found:
$evidence

Write a stronger, correct replacement test module. Import with
`from solution import $entry_point`, name tests test_*, use exact expected values
worked out from the problem statement. Reply with one ```python code block.""",
)

EVOLVE = Template(
    name="evolve.v1",
    system="You rewrite Python programming problems into harder versions.",
    user="""Rewrite the given problem into a harder version. $method
Keep it a self-contained Python function problem that can be tested with pytest. Do not
write a solution and do not mention the words "given problem" or "rewritten problem".

Given:
$problem

Reply in exactly this format:

Problem: <the harder task in 2 to 8 sentences>
Signature:
```python
def function_name(argument: type) -> type:
```""",
)

TEMPLATES: dict[str, Template] = {
    t.name: t for t in (PROBLEM, SOLUTION, TESTS, REPAIR_SOLUTION, REPAIR_TESTS, EVOLVE)
}


def template_hashes() -> dict[str, str]:
    """Every template's name and hash (the manifest lists them)."""
    return {name: t.digest for name, t in TEMPLATES.items()}
