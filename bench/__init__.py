"""Benchmarks: each figure beside its budget (DESIGN §9) and a baseline measured in the same run."""

import tui  # noqa: F401 - before Textual: the desk is measured with its own settings (frame rate)
