"""The only place mention data becomes something drawn on screen.

Mention text is hostile (DESIGN §3). It is sanitised at ingest, and here it is only ever put
into `Segment`s and `Content` as plain text: no markup is parsed from it, and `safe` strips
any control character again in case something unsanitised got this far (an old database, a
third-party source writing directly). Notifications go through `notice`, which disables
markup for the same reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.content import Content

from sources.sanitize import clean_line, strip_controls
from tui.records import Detail, QueueRow
from tui.timefmt import short_duration

PRIORITY_LABEL = {"urgent": "URG", "high": "HIGH", "normal": "norm", "low": "low"}
SLA_WIDTH = 5


SHORT_SOURCE = {"mastodon": "mast", "bluesky": "bsky", "reddit": "rddt", "hackernews": "hn"}


def column_widths(width: int) -> tuple[int, int, int]:
    """(source, author, action) widths: generous when wide, tight at 80 columns."""
    if width >= 120:
        return 10, 20, 22
    if width >= 90:
        return 8, 16, 18
    return 4, 12, 14


def safe(text: str) -> str:
    """Plain text that cannot carry terminal control sequences (the sanitiser's own set)."""
    return strip_controls(text)


def fit(text: str, width: int) -> str:
    """Pad or cut to exactly `width` cells, with an ellipsis when cut."""
    if width <= 0:
        return ""
    text = safe(text)
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def sla_clock(due: datetime | None, now: datetime) -> str:
    return "" if due is None else short_duration(due - now)


SOON = timedelta(minutes=10)  # an SLA clock this close to due turns to a warning colour


def sla_state(due: datetime | None, now: datetime) -> tuple[str, str]:
    """The SLA clock as drawn: its text, and the style it is drawn in."""
    if due is None:
        return "", "meta"
    left = due - now
    style = "overdue" if left.total_seconds() < 0 else "soon" if left < SOON else "meta"
    return sla_clock(due, now), style


def queue_segments(
    row: QueueRow,
    width: int,
    clock: tuple[str, str],
    styles: dict[str, Style],
    selected: bool = False,
) -> list[Segment]:
    """One queue line: mark, priority, SLA clock (`sla_state`: the queue keys its kept lines
    by it), source, author, summary, claim, suggestion."""
    sla, clock_style = clock
    action = row.action or "—"
    claim = f" @{row.claimed_by}" if row.claimed_by else ""
    source_width, author_width, action_width = column_widths(width)
    source = row.source
    short = SHORT_SOURCE.get(source, source)
    fixed = 1 + 4 + 1 + SLA_WIDTH + 1 + source_width + 1 + author_width + 1 + 1 + action_width
    # The claim ends the summary's column, so the actions line up on every line (a responder
    # reads down them) and unclaimed lines lose nothing to it.
    claim = fit(claim, min(cell_len(claim), 16))
    summary_width = max(width - fixed - cell_len(claim), 8)
    text_style = styles["deleted"] if row.deleted else styles["text"]
    summary = ("[deleted] " if row.deleted else "") + row.summary
    summary_segments = [Segment(fit(summary, summary_width), text_style)]
    if claim:
        summary_segments.append(Segment(claim, styles["meta"]))
    return [
        Segment("▌" if selected else " ", styles["action"]),
        Segment(fit(PRIORITY_LABEL.get(row.priority, row.priority), 4), styles[row.priority]),
        Segment(" "),
        Segment(fit(sla.rjust(SLA_WIDTH), SLA_WIDTH), styles[clock_style]),
        Segment(" "),
        Segment(
            fit(source if len(source) <= source_width else short, source_width), styles["meta"]
        ),
        Segment(" "),
        Segment(fit(row.author, author_width), styles["author"]),
        Segment(" "),
        *summary_segments,
        Segment(" "),
        Segment(fit(action, action_width), styles["action"]),
    ]


def detail_content(detail: Detail, now: datetime) -> Content:
    """The detail pane for one mention, as plain-text Content with styles."""
    m = detail.mention
    author = m.author
    who = author.display_name or author.handle
    followers = f" · {author.followers:,} followers" if author.followers is not None else ""
    parts: list[str | tuple[str, str]] = [
        (safe(who), "bold"),
        f"  {safe(author.handle)}{followers}\n",
        (f"{m.source} · {m.source_name} · {m.kind}", "dim"),
        (f" · {m.language}" if m.language else "", "dim"),
        (f" · published {m.created_at:%Y-%m-%d %H:%M} UTC\n", "dim"),
    ]
    if m.url:
        parts += [(safe(m.url), "underline"), "\n"]
    parts += _state_parts(detail)
    if detail.parent is not None:
        parent = detail.parent
        quoted = " ".join(parent.text.split())[:280]
        parts += [
            (f"in reply to {safe(parent.author.handle)}: ", "dim italic"),
            (f"{safe(quoted)}\n", "italic"),
        ]
    elif m.in_reply_to_id:
        parts += [(f"in reply to {safe(m.in_reply_to_id)} (not stored here)\n", "dim italic")]
    parts.append("\n")
    if m.title:
        parts += [(safe(m.title), "bold"), "\n\n"]
    if m.content_warning:
        parts += [(f"CW: {safe(m.content_warning)}", "bold $warning"), "\n\n"]
    parts += [safe(m.text), "\n"]
    if m.deleted:
        parts += [("\n[deleted on the network]\n", "bold $error")]
    engagement = m.engagement.model_dump(exclude_none=True)
    if engagement:
        counts = " · ".join(f"{v} {k}" for k, v in engagement.items())
        parts += [(f"\n{counts}\n", "dim")]
    parts += _suggestion_parts(detail, now)
    parts += _history_parts(detail)
    parts += _effect_parts(detail, now)
    return Content.assemble(*parts)


def _state_parts(detail: Detail) -> list[str | tuple[str, str]]:
    """Status, claim, assignee and tags: what other responders are doing with it."""
    bits: list[str | tuple[str, str]] = [(f"{detail.status}", "bold")]
    if detail.claimed_by:
        bits += [" · ", (f"claimed by {safe(detail.claimed_by)}", "bold $warning")]
    if detail.assignee:
        bits += [" · ", f"assigned to {safe(detail.assignee)}"]
    if detail.tags:
        bits += [" · ", ("#" + " #".join(safe(t) for t in detail.tags), "$text-accent")]
    return [*bits, "\n"]


def _suggestion_parts(detail: Detail, now: datetime) -> list[str | tuple[str, str]]:
    parts: list[str | tuple[str, str]] = [("\nSuggestions\n", "bold $accent")]
    if not detail.suggestions:
        parts.append(("  none: no playbook rule matched\n", "dim"))
    for s in detail.suggestions:
        due = f", due in {sla_clock(s.sla_due_at, now)}" if s.sla_due_at else ""
        marker = "▶ " if s.rank == 0 else "  "
        parts += [
            (f"{marker}{safe(s.label())}", "bold" if s.rank == 0 else ""),
            (f"  [{s.priority}{due}, score {s.score}]\n", "dim"),
            (f"    why: {safe(s.why)}\n", ""),
            (f"    rule {safe(s.playbook_id)}/{safe(s.rule_id)} @ {s.playbook_version}\n", "dim"),
        ]
        if reply := s.params.get("reply"):
            parts.append((f"    reply: {safe(str(reply))}\n", "italic"))
    return parts


def _history_parts(detail: Detail) -> list[str | tuple[str, str]]:
    if not detail.decisions:
        return []
    parts: list[str | tuple[str, str]] = [("\nHistory\n", "bold $accent")]
    for d in detail.decisions:
        how = f" ({d.outcome})" if d.outcome else ""
        said = d.params.get("text") if d.action == "note" else None
        note = f": {clean_line(said)}" if isinstance(said, str) else ""
        parts.append(
            (
                f"  {d.decided_at:%H:%M:%S} {safe(d.actor)}: {d.action}{how} → {d.status_after}"
                f"{note}\n",
                "",
            )
        )
    return parts


EFFECT_STYLE = {"sent": "$success", "failed": "bold $error", "cancelled": "dim", "dry_run": "dim"}


def _effect_parts(detail: Detail, now: datetime) -> list[str | tuple[str, str]]:
    """What the decisions sent out, and how that is going: the outbox for this mention."""
    if not detail.effects:
        return []
    parts: list[str | tuple[str, str]] = [("\nDelivery\n", "bold $accent")]
    for e in detail.effects:
        retrying = e.state == "pending" and e.last_error
        style = "$warning" if retrying else EFFECT_STYLE.get(e.state, "")
        parts += [
            f"  {e.kind} to {safe(e.target)} ({e.channel}): ",
            (safe(e.describe(now)), style),
            "\n",
        ]
        if e.remote_url:
            parts += [("    ", ""), (safe(e.remote_url), "underline"), "\n"]
    return parts
