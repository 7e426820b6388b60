"""`!help`, built into every registry: the commands (and subcommands) the sender may use,
or one of them in full."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.formatting import escape, markup
from bot.framework.command import Command, Group, command
from bot.i18n import N_

if TYPE_CHECKING:
    from collections.abc import Iterator

    from bot.context import Context


class Commands(Protocol):
    """What help needs of a registry."""

    def __iter__(self) -> Iterator[Command]: ...
    def resolve(self, name: str, prefix: str = "!") -> Command: ...


def _find(commands: Commands, words: list[str], prefix: str) -> Command:
    cmd = commands.resolve(words[0].removeprefix(prefix), prefix)
    if len(words) > 1 and isinstance(cmd, Group):
        sub = cmd.subcommands.get(words[1].casefold())
        if sub is not None:
            return sub
    return cmd


async def _usable(ctx: Context, commands: Commands) -> list[Command]:
    """Each command and subcommand the sender may use; a group's own line only when it
    takes arguments or has no subcommands the sender may use."""
    out: list[Command] = []
    for top in commands:
        if await top.failed_check(ctx) is not None:
            continue
        subs = [s for s in top.walk() if s is not top and await s.failed_check(ctx) is None]
        if top.params or not subs:
            out.append(top)
        out.extend(subs)
    return out


async def _explain(ctx: Context, cmd: Command) -> None:
    prefix = ctx.prefix
    usage = cmd.usage(prefix)
    description = ctx._(cmd.help)
    lines = [usage, description]
    html = [markup("<code>%(u)s</code><br>%(d)s", u=usage, d=description)]
    if cmd.aliases:
        label = ctx._(N_("Also:"))
        base = f"{cmd.parent.qualified_name} " if cmd.parent else ""
        aliases = ", ".join(f"{prefix}{base}{a}" for a in cmd.aliases)
        lines.append(f"{label} {aliases}")
        html.append(markup("<br>%(l)s %(a)s", l=label, a=aliases))
    if isinstance(cmd, Group):
        items = []
        for sub in cmd.commands:
            if await sub.failed_check(ctx) is None:
                u, d = sub.usage(prefix), ctx._(sub.help)
                lines.append(f"{u} — {d}")
                items.append(markup("<li><code>%(u)s</code> — %(d)s</li>", u=u, d=d))
        if items:
            html.append("<ul>" + "".join(items) + "</ul>")
    checks = cmd.check_names()
    if checks:
        note = (ctx._(N_("For coordinators.")) if "coordinator" in checks
                else ctx._(N_("For members of the network.")))
        lines.append(note)
        html.append("<br><em>" + escape(note) + "</em>")
    await ctx.reply("\n".join(lines), "".join(html))


def make_help(commands: Commands) -> Command:
    @command("help", help=N_("List the commands you may use, or explain one."), aliases=("h",))
    async def help_(ctx: Context, name: str | None = None, sub: str | None = None) -> None:
        prefix = ctx.prefix
        if name is not None:
            words = [name, *([sub] if sub else [])]
            await _explain(ctx, _find(commands, words, prefix))
            return
        usable = await _usable(ctx, commands)
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
        html = escape(title) + "<ul>" + "".join(items) + "</ul>" + escape(footer)
        await ctx.reply("\n".join(lines), html)

    return help_
