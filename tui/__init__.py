"""triage's application layer: CLI, settings, store, ingest, views (headless) and the desk.

Only `tui.app`, `tui.render`, `tui.widgets` and `tui.screens` import Textual (DESIGN §2).
"""

import os

# Textual draws at most TEXTUAL_FPS frames a second (60 by default), so a key pressed within
# one frame period of the last frame waits for the next slot, up to 16.7 ms on top of its own
# work: with keys 10 ms apart the desk's p95 was 30 ms at 60, 16 at 120 and 12 at 240
# (`python -m bench.desk`). Frames are drawn only when something changed, so an idle desk
# costs nothing more. Set before Textual is imported; the user's own setting wins.
os.environ.setdefault("TEXTUAL_FPS", "240")
