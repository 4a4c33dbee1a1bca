"""triage's application layer: CLI, settings, store, ingest, views (headless) and the desk.

Only `tui.app`, `tui.render`, `tui.widgets` and `tui.screens` import Textual (DESIGN §2).
"""
