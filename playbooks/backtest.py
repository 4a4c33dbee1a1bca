"""Backtest: run playbooks over mentions already decided, and judge each rule.

Pure: it takes what was stored (the mention, the top suggestion that was in force, the
responder's final decision) and a candidate `Engine`; the `tui` layer reads the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from playbooks.engine import Engine, Suggestion
from sources.model import Mention

KEY_PARAMS = ("team", "reason", "queue", "assignee")


@dataclass(frozen=True)
class Proposal:
    """An action with its key parameter: what a suggestion or a decision amounts to."""

    playbook_id: str | None
    rule_id: str | None
    action: str
    target: str | None

    @classmethod
    def of(
        cls,
        action: str,
        params: dict[str, Any],
        playbook_id: str | None = None,
        rule_id: str | None = None,
    ) -> Proposal:
        target = next((str(params[k]) for k in KEY_PARAMS if params.get(k)), None)
        return cls(playbook_id, rule_id, action, target)

    @classmethod
    def from_suggestion(cls, s: Suggestion) -> Proposal:
        return cls.of(s.action, s.params, s.playbook_id, s.rule_id)

    def agrees(self, other: Proposal) -> bool:
        return (self.action, self.target) == (other.action, other.target)

    def label(self) -> str:
        rule = f"{self.playbook_id}/{self.rule_id}: " if self.rule_id else ""
        return f"{rule}{self.action}" + (f" {self.target}" if self.target else "")


@dataclass(frozen=True)
class Item:
    mention: Mention
    in_force: Proposal | None  # the top suggestion stored when the mention arrived
    decision: Proposal | None  # the responder's final decision (undone ones excluded)


@dataclass
class RuleStats:
    playbook_id: str
    rule_id: str
    fired: int = 0  # mentions it would make a suggestion for
    top: int = 0  # ... as the top suggestion
    decided: int = 0  # fired on a mention a responder decided
    agreed: int = 0  # ... and the decision was what this rule suggests

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.decided if self.decided else None


@dataclass
class Change:
    mention: str  # source_name:native_id
    before: str | None
    after: str | None


@dataclass
class Report:
    mentions: int = 0
    decided: int = 0
    top_agreed: int = 0  # decided mentions whose decision matches the new top suggestion
    rules: list[RuleStats] = field(default_factory=list)
    new: int = 0  # no suggestion was in force, now there is one
    lost: int = 0  # one was in force, now none
    changed: int = 0  # the top suggestion differs
    unchanged: int = 0
    examples: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for stats, row in zip(self.rules, out["rules"], strict=True):
            row["agreement"] = stats.agreement
        return out


def run(engine: Engine, items: Iterable[Item], examples: int = 20) -> Report:
    report = Report()
    stats = {
        (p.playbook.id, r.id): RuleStats(p.playbook.id, r.id)
        for p in engine.playbooks
        for r in p.playbook.rules
    }
    for item in items:
        report.mentions += 1
        proposals = [Proposal.from_suggestion(s) for s in engine.suggest(item.mention)]
        if item.decision is not None:
            report.decided += 1
            if proposals and proposals[0].agrees(item.decision):
                report.top_agreed += 1
        for rank, proposal in enumerate(proposals):
            rule = stats[(proposal.playbook_id or "", proposal.rule_id or "")]
            rule.fired += 1
            rule.top += rank == 0
            if item.decision is not None:
                rule.decided += 1
                rule.agreed += proposal.agrees(item.decision)
        _compare(report, item, proposals[0] if proposals else None, examples)
    report.rules = list(stats.values())
    return report


def _compare(report: Report, item: Item, after: Proposal | None, examples: int) -> None:
    before = item.in_force
    if (before is None and after is None) or (before and after and before == after):
        report.unchanged += 1
        return
    if before is None:
        report.new += 1
    elif after is None:
        report.lost += 1
    else:
        report.changed += 1
    if len(report.examples) < examples:
        report.examples.append(
            Change(
                item.mention.uid,
                before.label() if before else None,
                after.label() if after else None,
            )
        )
