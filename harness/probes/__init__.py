"""Probes: are a sample's tests worth anything? (stand-ins, mutants, static lint)."""
