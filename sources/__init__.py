"""Mention sources: the normalised model, the source contract, the registry, the connectors.

Layering (DESIGN §2): this package imports neither `playbooks` nor `tui`, nor Textual, Rich
or SQLite.
"""

from sources.contract import Health, HealthState, Source, SourceConfig
from sources.model import Author, Delete, Engagement, Mention, MentionEvent, Upsert

__all__ = [
    "Author",
    "Delete",
    "Engagement",
    "Health",
    "HealthState",
    "Mention",
    "MentionEvent",
    "Source",
    "SourceConfig",
    "Upsert",
]
