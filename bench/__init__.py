"""Benchmarks: each figure beside its budget (DESIGN §9) and a baseline measured in the same run."""
