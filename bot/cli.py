"""The `sbcc-bot` command: run, demo, migrate, check-config."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot import __version__
from bot.app import load_config
from bot.config import Config
from bot.db import Database
from bot.demo import demo_state, run_demo
from bot.deps import utcnow
from bot.errors import ConfigError
from bot.features.digest.composer import DigestComposer
from bot.features.digest.config import DigestConfig
from bot.i18n import Translator
from bot.logs import setup_logging
from bot.runner import provision, run_bot

log = logging.getLogger("bot")
EXIT_CONFIG = 2


def _load(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"sbcc-bot: the configuration in {path} has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


async def digest_preview(config: Config, days: int, language: str | None) -> int:
    """Print a digest composed from the database (no Matrix connection needed)."""
    setup_logging("WARNING", config.secrets())
    db = Database(config.database.url, schema=config.database.schema)
    try:
        await db.migrate()
        composer = DigestComposer(config.network, config.section(DigestConfig))
        tr = Translator().bind(language or config.default_language)
        async with db.session() as session:
            composed = await composer.compose(session, tr, utcnow(), days, chart=False)
    finally:
        await db.close()
    print(composed.text)
    return 0


async def migrate(config: Config) -> int:
    setup_logging(config.log_level, config.secrets())
    db = Database(config.database.url, schema=config.database.schema)
    try:
        await db.migrate()
    finally:
        await db.close()
    print("database is at the newest schema")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sbcc-bot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sbcc-bot {__version__}")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, text in (("run", "run the bot"), ("migrate", "upgrade the database schema"),
                       ("provision", "create or update the network's Space and rooms"),
                       ("check-config", "validate a configuration file")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", "-c", required=True, help="path to config.yaml")
    dig = sub.add_parser("digest", help="the weekly digest (--preview prints it here)")
    dig.add_argument("--config", "-c", required=True, help="path to config.yaml")
    dig.add_argument("--preview", action="store_true", required=True,
                     help="print the digest instead of posting it")
    dig.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    dig.add_argument("--lang", choices=("en", "pl", "de", "lt", "sv"), default=None)
    demo = sub.add_parser("demo", help="run against an embedded local Synapse")
    demo.add_argument("--data-dir", default=".demo", type=Path,
                      help="where the homeserver and bot keep their data (default .demo/)")
    demo.add_argument("--sample", nargs="?", const=40, type=int, default=None, metavar="N",
                      help="fill the network with N sample members (default 40) and their "
                           "profiles, collaborations, events and activity, once")
    args = parser.parse_args(argv)

    if args.cmd == "demo":
        return asyncio.run(run_demo(args.data_dir, demo_state(args.data_dir),
                                    sample=args.sample))
    config = _load(args.config)
    if args.cmd == "check-config":
        print(f"{args.config}: OK ({config.matrix.user_id} on {config.matrix.homeserver})")
        return 0
    if args.cmd == "migrate":
        return asyncio.run(migrate(config))
    if args.cmd == "digest":
        return asyncio.run(digest_preview(config, args.days, args.lang))
    if args.cmd == "provision":
        return asyncio.run(provision(config))
    return asyncio.run(run_bot(config))


if __name__ == "__main__":
    sys.exit(main())
