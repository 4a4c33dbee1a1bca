"""Run every stand-in on one local port, for trying the desk by hand:

    python -m tests.fakenet CONFIG.toml [--fail hn=trickle,sky=429]

writes a config for all five network sources pointing at it (secrets passed as env names,
printed for you to export) and a team `sre-oncall` whose webhook is served here too, adds a post
to each network every few seconds, keeps injecting the named faults, and prints every reply
posted and every webhook received. While the file `CONFIG.down` exists the webhook receiver
answers 503. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from pathlib import Path

from tests.fakenet import FakeNet, Fault
from tests.fakenet.hackernews import PATH as HN_PATH
from tests.fakenet.hooks import FakeReceiver
from tests.fakenet.mastodon import Posting
from tests.fakenet.world import SECRETS, World

FAULTS: dict[str, Callable[[], Fault]] = {
    "429": lambda: Fault.status(429, {"error": "Too many requests"}, {"Retry-After": "20"}),
    "503": lambda: Fault.status(503),
    "reset": Fault.reset,
    "garbage": Fault.garbage,
    "truncated": Fault.truncated,
    "trickle": Fault.trickle,
    "block": Fault.html_block,
    "401": lambda: Fault.status(401, {"error": "The access token is invalid"}),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakenet")
    parser.add_argument("config", type=Path)
    parser.add_argument("--fail", default="", help="source=fault,...; faults: " + " ".join(FAULTS))
    parser.add_argument("--every", type=float, default=5.0, help="seconds between new posts")
    args = parser.parse_args()
    net = FakeNet().start()
    world = World.serve(net)
    masto, sky, hn, feed, reddit = world.masto, world.sky, world.hn, world.feed, world.reddit
    posting, hook = Posting(masto), FakeReceiver(net)
    down = args.config.with_suffix(".down")
    paths = {
        "fedi": "/api/v1/timelines/tag/acme",
        "sky": "/xrpc/app.bsky.feed.searchPosts",
        "hn": HN_PATH,
        "alerts": feed.path,
        "reddit": "/search",
    }
    faults = [pair.split("=") for pair in args.fail.split(",") if pair]
    env = {
        "mastodon": "FAKE_MASTODON_TOKEN",
        "bluesky": "FAKE_BLUESKY_PASSWORD",
        "reddit": "FAKE_REDDIT_SECRET",
    }
    sources = world.sources_toml(env, every="poll_interval = 5\ndeadline = 5\n")
    args.config.write_text(
        f'actor = "pat"\n{sources}\n[teams.sre-oncall]\nwebhook = "{hook.url}"\n'
    )
    print(f"stand-ins on {net.url}; config written to {args.config}")
    print("export " + " ".join(f"{env[k]}={SECRETS[k]}" for k in env), flush=True)
    shown = [0, 0]
    try:
        for n in itertools.count(1):
            stamp = int(time.time())
            iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(stamp))
            masto.status(
                f"<p>Acme sync is slow again ({n}) &amp; nobody answers</p>", created_at=iso
            )
            sky.post(f"acme login broken for me too ({n})", iso)
            hn.comment(44700000 + n, stamp, f"Acme's outage page says nothing ({n})")
            feed.alert(
                n,
                f"<b>Acme</b> news {n}",
                f"https://news.example/{n}",
                iso.replace(".000", ""),
                "The <b>Acme</b> team said",
            )
            reddit.post(f"Acme refund? ({n})", "I want my money back", float(stamp))
            for name, fault in faults:
                net.fail(paths[name], FAULTS[fault]())
            for _ in range(int(args.every / 0.25)):
                hook.down = down.exists()
                for status in posting.posted[shown[0] :]:
                    print(
                        f"reply posted: in reply to {status['in_reply_to_id']}: "
                        f"{status['content']!r}",
                        flush=True,
                    )
                for got in hook.received[shown[1] :]:
                    body = got.json()
                    print(
                        f"webhook received: {body['event']} to {body['team']} "
                        f"(mention {body['mention']['id']}, key "
                        f"{got.headers.get('idempotency-key')})",
                        flush=True,
                    )
                shown[:] = [len(posting.posted), len(hook.received)]
                time.sleep(0.25)
    except KeyboardInterrupt:
        net.stop()


if __name__ == "__main__":
    main()
