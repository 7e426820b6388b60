"""Running the bot, and provisioning the network from the command line: what `sbcc-bot run`,
`sbcc-bot provision` and `sbcc-bot demo` share."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.app import App
from bot.config import Config
from bot.errors import GatewayError
from bot.logs import setup_logging
from rooms.provisioning import Outcome, Provisioner

log = logging.getLogger("bot")
EXIT_CONFIG = 2


async def run_bot(config: Config) -> int:
    """Run until stopped. A process that loses the lead (`bot.leader`) stops handling at
    once and stands by again, as a fresh App, ready to take over when the lock is free."""
    redactor = setup_logging(config.log_level, config.secrets())
    loop = asyncio.get_running_loop()
    while True:
        app = App(config, redactor=redactor)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, app.stop)
        try:
            await app.serve()
        except GatewayError as exc:
            log.error("cannot talk to the homeserver: %s", exc)
            return 1
        if not app.lost_lead:
            return 0
        log.warning("standing by again after losing the lead")


async def provision(config: Config) -> int:
    redactor = setup_logging("WARNING", config.secrets())
    if not config.network.configured:
        print("sbcc-bot: the configuration has no network.space: nothing to provision",
              file=sys.stderr)
        return EXIT_CONFIG
    app = App(config, redactor=redactor)

    async def show(outcome: Outcome) -> None:
        print(outcome.line(), flush=True)

    try:
        await app.connect()
        outcomes = await Provisioner(app.deps, progress=show).run()
    except GatewayError as exc:
        print(f"sbcc-bot: cannot talk to the homeserver: {exc}", file=sys.stderr)
        return 1
    finally:
        await app.close()
    return 1 if any(o.failed for o in outcomes) else 0
