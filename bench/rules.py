"""Rule evaluation: 500 keywords + 50 regex conditions, per mention (DESIGN §9: <= 15 us).

Ours: the playbook Engine (one Aho-Corasick pass, regexes behind literal prefilters, only the
rules a found keyword can wake). Baseline: the obvious implementation, one `re` alternation per
rule with word boundaries and every regex run on every mention, on the same rules and texts.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from bench.common import Result, median_time
from playbooks import Engine, load_paths
from sources.demo.source import sample
from sources.model import Mention

RULES, KEYWORDS_PER_RULE, REGEXES = 100, 5, 50


def _vocabulary(mentions: list[Mention], rng: random.Random) -> list[str]:
    raw = {re.sub(r"\W", "", w.lower()) for m in mentions for w in m.text.split()}
    words = sorted(w for w in raw if len(w) > 3)
    phrases = [f"{a} {b}" for a, b in pairwise(words)]
    return rng.sample(words, 250) + rng.sample(phrases, 250)


def build(tmp: Path, mentions: list[Mention]) -> tuple[Path, list[list[str]], list[str]]:
    rng = random.Random(1)
    vocab = _vocabulary(mentions, rng)
    groups = [vocab[i * KEYWORDS_PER_RULE : (i + 1) * KEYWORDS_PER_RULE] for i in range(RULES)]
    regexes = [f"{w}\\s+\\w+" for w in rng.sample([v for v in vocab if " " not in v], REGEXES)]
    lines = ['id = "bench"']
    for i, group in enumerate(groups):
        terms = ", ".join(f'"{t}"' for t in group)
        lines += [
            f'[[rules]]\nid = "k{i}"\nwhen.any = [{terms}]\nthen.action = "tag"\nthen.tags = ["t"]'
        ]
    for i, pattern in enumerate(regexes):
        literal = pattern.split("\\")[0]
        spec = (
            f'{{ pattern = "{pattern.replace(chr(92), chr(92) * 2)}", prefilter = ["{literal}"] }}'
        )
        lines += [
            f'[[rules]]\nid = "r{i}"\nwhen.regex = [{spec}]\nthen.action = "tag"\nthen.tags = ["t"]'
        ]
    path = tmp / "bench.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, groups, regexes


def run(tmp: Path, quick: bool) -> list[Result]:
    mentions = sample(300 if quick else 2000, datetime(2026, 1, 1, tzinfo=UTC))
    path, groups, regexes = build(tmp, mentions)
    result = load_paths([path])
    assert not result.errors, result.errors[:3]
    engine = Engine(result.playbooks)
    alternations = [
        re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, g)) + r")(?!\w)", re.IGNORECASE)
        for g in groups
    ]
    compiled = [re.compile(r, re.IGNORECASE) for r in regexes]

    def ours() -> None:
        for m in mentions:
            engine.suggest(m)

    def baseline() -> None:
        for m in mentions:
            text = m.text
            [p.search(text) for p in alternations]
            [p.search(text) for p in compiled]

    repeats = 3 if quick else 7
    per = 1e6 / len(mentions)
    ours_us = median_time(ours, repeats) * per
    base_us = median_time(baseline, repeats) * per
    return [
        Result(
            "rules: 500 keywords + 50 regex, per mention",
            "us",
            ours_us,
            "re alternation per rule + every regex",
            base_us,
            "<= 15 us",
            ours_us <= 15,
        )
    ]
