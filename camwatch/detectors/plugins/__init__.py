"""Detector implementations, one module per model family."""
