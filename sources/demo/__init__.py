"""The demo source: realistic, seeded synthetic traffic about a fictional company, Acme."""

from sources.demo.source import DemoConfig, DemoSource

__all__ = ["DemoConfig", "DemoSource"]
