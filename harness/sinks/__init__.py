"""Sinks: where verdicts, kept samples and rejected samples are written."""

from harness.sinks.jsonl import AtomicWriter, KeptSamples, RejectedSamples, Verdicts

__all__ = ["AtomicWriter", "KeptSamples", "RejectedSamples", "Verdicts"]
