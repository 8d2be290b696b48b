"""Produce and audit verified code datasets."""

__version__ = "0.1.0"
