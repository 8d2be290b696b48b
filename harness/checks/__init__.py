"""Checks: does the sample parse, type-check and pass its tests? Each is one stage."""

from __future__ import annotations

from harness.checks.syntax import SyntaxCheck
from harness.checks.tests import TestsCheck
from harness.checks.typecheck import TypeCheck
from harness.config import VerifyConfig
from harness.stage import BatchCheck, Check


def default_checks(config: VerifyConfig) -> list[Check | BatchCheck]:
    """The checks a verify run makes, in the order their facts appear in a verdict."""
    checks: list[Check | BatchCheck] = [SyntaxCheck()]
    if config.typecheck:
        checks.append(TypeCheck(config))
    checks.append(TestsCheck(config))
    return checks


__all__ = ["SyntaxCheck", "TestsCheck", "TypeCheck", "default_checks"]
