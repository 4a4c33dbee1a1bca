"""`p` in the replay: the series people would rather look at than read, drawn with
textual-plotext from the same report the shell prints."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import ModalScreen
from textual_plotext import PlotextPlot

from tui.report import Report


class PlotsScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,p,q", "dismiss", "Close", id="close_plots")]
    DEFAULT_CSS = """
    PlotsScreen { align: center middle; }
    PlotsScreen > Grid {
        grid-size: 2 2; width: 95%; height: 90%; background: $panel; border: round $accent;
    }
    PlotsScreen #volume { column-span: 2; }
    """

    def __init__(self, report: Report, waits: list[float]) -> None:
        super().__init__()
        self.report = report
        self.waits = waits  # seconds from arrival to first decision, per mention

    def compose(self) -> ComposeResult:
        with Grid():
            yield PlotextPlot(id="volume")
            yield PlotextPlot(id="waits")
            yield PlotextPlot(id="rules")

    def on_mount(self) -> None:
        sections = {s.title: s for s in self.report.sections}
        volume = sections["volume per hour"].rows
        plot = self.query_one("#volume", PlotextPlot).plt
        plot.bar(
            [r[0][5:16].replace("T", " ") for r in volume] or ["-"], [r[1] for r in volume] or [0]
        )
        plot.title("Mentions per hour")
        plot = self.query_one("#waits", PlotextPlot).plt
        if self.waits:
            plot.hist([w / 60 for w in self.waits], bins=20)
        plot.title("Time to first decision (minutes)")
        rules = [r for r in sections["rules"].rows if r[-1] is not None][:12]
        plot = self.query_one("#rules", PlotextPlot).plt
        plot.bar(
            [str(r[0]).split("/")[-1] for r in rules] or ["-"],
            [float(r[-1]) for r in rules] or [0],
            orientation="horizontal",
        )
        plot.title("Acceptance per rule (%)")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
