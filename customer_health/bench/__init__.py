"""Benchmark of the warehouse against baselines that do the same work (issue 6)."""
