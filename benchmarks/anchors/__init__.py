"""Helpers of benchmarks/anchors.py: the repository and store it measures, and the LSP client."""
