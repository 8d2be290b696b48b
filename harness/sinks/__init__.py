"""Sinks: where verdicts, kept samples and rejected samples are written."""

from harness.sinks.jsonl import AtomicWriter, AugmentedTests, KeptSamples, RejectedSamples, Verdicts

__all__ = ["AtomicWriter", "AugmentedTests", "KeptSamples", "RejectedSamples", "Verdicts"]
