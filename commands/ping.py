"""!ping — is the bot there?"""

from __future__ import annotations

from bot.context import Context
from bot.formatting import markup
from bot.framework.command import Rest, command
from bot.i18n import N_


@command("ping", help=N_("Check that the bot answers; it repeats your text."))
async def ping(ctx: Context, text: Rest | None = None) -> None:
    pong = ctx._(N_("pong"))
    if not text:
        await ctx.reply(pong)
        return
    await ctx.reply(f"{pong} {text}", markup("%(pong)s %(text)s", pong=pong, text=text))
