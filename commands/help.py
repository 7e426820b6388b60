"""!help — the commands you may use, or one command in full."""

from __future__ import annotations

from bot.context import Context
from bot.formatting import escape, markup
from bot.i18n import N_
from commands.registry import command


@command("help", help=N_("List the commands you may use, or explain one."), aliases=("h",))
async def help_(ctx: Context, name: str | None = None) -> None:
    registry = ctx.deps.registry
    prefix = ctx.prefix
    if name is not None:
        cmd = registry.resolve(name.removeprefix(prefix), prefix)
        usage = cmd.usage(prefix)
        description = ctx._(cmd.help)
        lines = [usage, description]
        html = [markup("<code>%(u)s</code><br>%(d)s", u=usage, d=description)]
        if cmd.aliases:
            label = ctx._(N_("Also:"))
            aliases = ", ".join(prefix + a for a in cmd.aliases)
            lines.append(f"{label} {aliases}")
            html.append(markup("<br>%(l)s %(a)s", l=label, a=aliases))
        if cmd.checks:
            note = ctx._(N_("For coordinators."))
            lines.append(note)
            html.append("<br><em>" + escape(note) + "</em>")
        await ctx.reply("\n".join(lines), "".join(html))
        return
    usable = [cmd for cmd in registry
              if not cmd.hidden and await cmd.allowed(ctx) is None]
    title = ctx.ngettext("You can use %(num)d command:", "You can use %(num)d commands:",
                         len(usable))
    lines, items = [title], []
    for cmd in usable:
        usage, description = cmd.usage(prefix), ctx._(cmd.help)
        lines.append(f"{usage} — {description}")
        items.append(markup("<li><code>%(u)s</code> — %(d)s</li>", u=usage, d=description))
    footer = ctx._(N_("Send %(usage)s for details about one command."),
                   usage=f"{prefix}help <command>")
    lines.append(footer)
    html = (escape(title) + "<ul>" + "".join(items) + "</ul>" + escape(footer))
    await ctx.reply("\n".join(lines), html)
