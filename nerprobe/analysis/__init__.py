"""Span scoring, significance tests and regression."""
