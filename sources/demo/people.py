"""Invented authors for the demo stream, with handles shaped like each network's."""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST = (
    "pat",
    "sam",
    "alex",
    "noor",
    "kai",
    "mina",
    "jo",
    "lea",
    "ravi",
    "yuki",
    "ines",
    "tom",
    "amara",
    "lukas",
    "chen",
    "sofia",
    "omar",
    "elif",
    "marta",
    "dev",
    "hana",
    "finn",
    "zoe",
    "ana",
    "jonas",
    "priya",
    "mateo",
    "ivy",
    "kofi",
    "nina",
)
LAST = (
    "rivera",
    "okafor",
    "schmidt",
    "tanaka",
    "dubois",
    "silva",
    "novak",
    "khan",
    "berg",
    "moreau",
    "rossi",
    "kowalski",
    "nguyen",
    "haddad",
    "costa",
    "jensen",
)
INSTANCES = ("mastodon.social", "fosstodon.org", "hachyderm.io", "mstdn.jp", "chaos.social")
OUTLETS = ("techwire.example", "saasweekly.example", "cloudnews.example", "dailybyte.example")


@dataclass(frozen=True)
class Persona:
    handle: str
    display_name: str | None
    url: str
    followers: int | None


def persona(rng: random.Random, platform: str, category: str) -> Persona:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    display = f"{first.title()} {last.title()}"
    if category == "spam":
        first, display = f"{first}{rng.randrange(100, 9999)}", f"💰 {first.upper()} DEALS 💰"
    followers = int(10 ** rng.uniform(0.5, 4.3))
    if category == "vip":
        followers = int(10 ** rng.uniform(4.5, 6.2))
    match platform:
        case "mastodon":
            instance = rng.choice(INSTANCES)
            handle = f"{first}_{last}@{instance}"
            return Persona(handle, display, f"https://{instance}/@{first}_{last}", followers)
        case "bluesky":
            handle = f"{first}{last}.bsky.social"
            return Persona(handle, display, f"https://bsky.app/profile/{handle}", followers)
        case "reddit":
            handle = f"{first}_{last}{rng.randrange(10, 99)}"
            return Persona(handle, None, f"https://www.reddit.com/user/{handle}", None)
        case "hackernews":
            handle = f"{first}{last[:3]}"
            return Persona(handle, None, f"https://news.ycombinator.com/user?id={handle}", None)
        case _:
            outlet = rng.choice(OUTLETS)
            return Persona(outlet, outlet.split(".")[0].title(), f"https://{outlet}", None)
