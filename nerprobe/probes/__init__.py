"""Memorization probes: each builds a controlled test set that keeps its lineage."""
