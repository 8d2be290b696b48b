"""The report: the run summary and the one-line evidence of each reason."""

from harness.report.explain import Explainer
from harness.report.summary import Summary

__all__ = ["Explainer", "Summary"]
