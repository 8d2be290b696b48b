"""Static lint of test modules: each pattern found where it is, and nothing on good tests."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.probes.lint import Finding, lint_tests

# (code, test module, line of the finding, start of its snippet)
CASES = [
    ("no_assertion", "from solution import f\n\ndef test_a():\n    f(1)\n", 3, "def test_a"),
    ("no_assertion", "class TestF:\n    def test_m(self):\n        print(1)\n", 2, "def test_m"),
    ("constant_assert", "def test_a():\n    assert True\n", 2, "assert True"),
    ("constant_assert", "def test_a():\n    assert 1\n", 2, "assert 1"),
    ("constant_assert", "def test_a():\n    assert 'x', 'message'\n", 2, "assert 'x'"),
    ("constant_assert", "def test_a():\n    assert (f(1), 2)\n", 2, "assert (f(1), 2)"),
    ("self_compare", "def test_a():\n    assert f(2) == f( 2 )\n", 2, "assert f(2) =="),
    ("self_compare", "class TestF:\n    def test_a(self):\n"
                     "        self.assertEqual(f(2), f(2))\n", 3, "self.assertEqual"),
    ("weak_checks_only", "def test_a():\n    assert isinstance(f(1), int)\n"
                         "    assert f(1) is not None\n    assert len(f(1)) >= 0\n"
                         "    assert type(f(1)) == list\n", 1, "def test_a"),
    ("weak_checks_only", "class TestF:\n    def test_a(self):\n"
                         "        self.assertIsInstance(f(1), int)\n", 2, "def test_a"),
    ("swallowed_assertion", "def test_a():\n    try:\n        assert f(1) == 3\n"
                            "    except AssertionError:\n        pass\n", 4,
     "except AssertionError"),
    ("swallowed_assertion", "def test_a():\n    try:\n        assert f(1) == 3\n"
                            "    except:\n        pass\n", 4, "except:"),
    ("swallowed_assertion", "def test_a():\n    try:\n        check(f)\n"
                            "    except (ValueError, Exception) as e:\n        print(e)\n", 4,
     "except (ValueError, Exception)"),
    ("swallowed_assertion", "import contextlib\ndef test_a():\n"
                            "    with contextlib.suppress(AssertionError):\n"
                            "        assert f(1) == 3\n", 3, "with contextlib.suppress"),
    ("entry_point_replaced", "import solution\ndef test_a(monkeypatch):\n"
                             "    monkeypatch.setattr(solution, 'f', lambda x: 3)\n"
                             "    assert solution.f(1) == 3\n", 3, "monkeypatch.setattr"),
    ("entry_point_replaced", "from unittest import mock\n"
                             "@mock.patch('solution.f', return_value=3)\n"
                             "def test_a(m):\n    assert m(1) == 3\n", 2, "mock.patch"),
    ("entry_point_replaced", "import solution\ndef test_a():\n    solution.f = lambda x: 3\n"
                             "    assert solution.f(1) == 3\n", 3, "solution.f = "),
    ("entry_point_replaced", "from solution import f\nf = lambda x: 3\n"
                             "def test_a():\n    assert f(1) == 3\n", 2, "f = lambda"),
    ("entry_point_replaced", "from solution import f\ndef f(x):\n    return 3\n"
                             "def test_a():\n    assert f(1) == 3\n", 2, "def f(x)"),
    ("entry_point_replaced", "from math import gcd as f\n"
                             "def test_a():\n    assert f(4, 6) == 2\n", 1, "from math import"),
    ("skip_mark", "import pytest\n\n@pytest.mark.skip\ndef test_a():\n    assert 1 == 2\n",
     3, "@pytest.mark.skip"),
    ("skip_mark", "import pytest\n\n@pytest.mark.xfail(reason='later')\n"
                  "def test_a():\n    assert f(1) == 2\n", 3, "@pytest.mark.xfail"),
    ("skip_mark", "import pytest\npytestmark = pytest.mark.skipif(True, reason='x')\n"
                  "def test_a():\n    assert f(1) == 2\n", 2, "pytestmark"),
    ("skip_mark", "import pytest\ndef test_a():\n    pytest.skip('later')\n"
                  "    assert f(1) == 2\n", 3, "pytest.skip"),
    ("skip_mark", "import pytest\ndef test_a():\n    if f(1) != 2:\n"
                  "        pytest.xfail('no')\n", 4, "pytest.xfail"),
    ("harness_tampering", "import pytest\n\n@pytest.hookimpl(hookwrapper=True)\n"
                          "def pytest_runtest_makereport(item, call):\n    yield\n"
                          "def test_a():\n    assert f(1) == 2\n", 4,
     "def pytest_runtest_makereport"),
    ("harness_tampering", "def test_a(request):\n"
                          "    request.config.pluginmanager.register(object())\n"
                          "    assert f(1) == 2\n", 2, "request.config.pluginmanager"),
    ("harness_tampering", "import os\ndef test_a():\n    if f(1) != 2:\n"
                          "        os._exit(0)\n    assert f(2) == 3\n", 4, "os._exit(0)"),
]


@pytest.mark.parametrize(("code", "source", "line", "snippet"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_pattern_is_found_where_it_is(code: str, source: str, line: int,
                                           snippet: str) -> None:
    findings = lint_tests(source, "f")
    hits = [f for f in findings if f.code == code]
    assert hits, findings
    assert hits[0].line == line and hits[0].snippet.startswith(snippet), hits[0]
    assert hits[0].message


GOOD = textwrap.dedent("""\
    import pytest
    from hypothesis import given, strategies as st
    from solution import f

    def assert_close(a, b):
        assert abs(a - b) < 1e-9

    def check(candidate):
        assert candidate(1) == 2

    def test_value():
        assert f(1) == 2

    def test_raises():
        with pytest.raises(ValueError):
            f(-1)

    def test_helper():
        assert_close(f(0.5), 1.5)

    def test_check():
        check(f)

    def test_reraised():
        try:
            assert f(1) == 2
        except AssertionError:
            raise

    def test_failed_loudly():
        try:
            assert f(2) == 3
        except Exception as exc:
            pytest.fail(str(exc))

    @given(st.integers())
    def test_property(x):
        assert f(x) - x == 1

    class TestF:
        def test_method(self):
            self.assertEqual(f(1), 2)

        def helper_not_a_test(self):
            f(1)

    def test_type_and_value():
        assert isinstance(f(1), int) and f(1) == 2
    """)


def test_a_good_suite_has_no_findings() -> None:
    assert lint_tests(GOOD, "f") == []


def test_without_an_entry_point_no_replacement_is_reported() -> None:
    source = "f = 3\ndef test_a():\n    assert f == 3\n"
    assert lint_tests(source, None) == []
    assert [x.code for x in lint_tests(source, "f")] == ["entry_point_replaced"]


def test_findings_are_sorted_and_carry_line_and_snippet() -> None:
    source = ("import pytest\n\n@pytest.mark.skip\ndef test_a():\n    assert True\n\n"
              "def test_b():\n    f(1)\n")
    findings = lint_tests(source, "f")
    assert findings == [
        Finding("skip_mark", 3, findings[0].message, "@pytest.mark.skip"),
        Finding("constant_assert", 5, findings[1].message, "assert True"),
        Finding("no_assertion", 7, findings[2].message, "def test_b():"),
    ]


def test_broken_source_still_gets_what_can_be_found() -> None:
    source = "from solution import f\n\ndef test_a():\n    assert True\n\ndef test_b(:\n"
    assert "constant_assert" in {x.code for x in lint_tests(source, "f")}


@pytest.mark.parametrize("source", [
    "def test_(:\n\x00\xff" * 100,
    "(" * 50_000,
    "def test_a():\n" + "".join("    " * (i + 1) + "if x:\n" for i in range(500)) +
    "    " * 501 + "pass\n",
    "assert " + "not " * 20_000 + "x\n",
    "\ud800 surrogate",
    "",
])
def test_hostile_inputs_do_not_crash(source: str) -> None:
    assert isinstance(lint_tests(source, "f"), list)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(list("def test_():\n assert try except f(1)==#'\"")),
               max_size=200), st.one_of(st.none(), st.sampled_from(["f", "test_", ""])))
def test_random_text_never_raises(source: str, entry: str | None) -> None:
    for finding in lint_tests(source, entry):
        assert finding.line >= 1 and isinstance(finding.snippet, str)
