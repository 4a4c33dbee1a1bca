"""Load the bundled demo corpus into threads of posts (see corpus.txt for the format)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True)
class CorpusPost:
    category: str
    platform: str  # "*" means any social network, picked per emission
    language: str
    text: str
    line: int


@dataclass(frozen=True)
class Thread:
    root: CorpusPost
    replies: tuple[CorpusPost, ...]


@cache
def threads() -> tuple[Thread, ...]:
    text = files("sources.demo").joinpath("corpus.txt").read_text(encoding="utf-8")
    return parse(text)


def parse(text: str) -> tuple[Thread, ...]:
    out: list[Thread] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        is_reply = line.startswith(">")
        category, platform, language, body = line.lstrip("> ").split("|", 3)
        post = CorpusPost(category, platform, language, body, number)
        if is_reply:
            if not out:
                raise ValueError(f"corpus.txt:{number}: a reply before any thread root")
            last = out[-1]
            out[-1] = Thread(last.root, (*last.replies, post))
        else:
            out.append(Thread(post, ()))
    return tuple(out)
