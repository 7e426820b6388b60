"""!about — what this bot is, its version and uptime."""

from __future__ import annotations

from babel.dates import format_timedelta

from bot import __version__
from bot.context import Context
from bot.formatting import markup
from bot.framework.command import command
from bot.i18n import N_


@command("about", help=N_("What this bot is, its version and how long it has been running."))
async def about(ctx: Context) -> None:
    uptime = format_timedelta(ctx.deps.clock() - ctx.deps.started_at, locale=ctx.locale,
                              threshold=1.0)
    network = ctx.deps.config.network.name
    text = ctx._(N_("sbcc-bot %(version)s, the platform bot of %(network)s. "
                    "Running for %(uptime)s."),
                 version=__version__, network=network, uptime=uptime)
    html = markup("%(text)s", text=text)
    await ctx.reply(text, html)
