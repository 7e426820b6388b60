"""The commands of one bot, by name and alias: an instance owned by the App (never a module
global), filled from the command modules, with `!help` built in."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from types import ModuleType

from bot.errors import CommandNotFound
from bot.framework.command import Command
from bot.framework.help import make_help
from bot.i18n import N_
from bot.text import shown


class Registry:
    def __init__(self) -> None:
        self._by_name: dict[str, Command] = {}
        self._commands: list[Command] = []
        self.add(make_help(self))

    def add(self, cmd: Command) -> Command:
        if any(cmd is known for known in self._commands):
            return cmd  # the same declaration, met again (a module imported another's)
        for key in (cmd.name, *cmd.aliases):
            if key in self._by_name:
                raise ValueError(f"command name {key!r} declared twice")
            self._by_name[key] = cmd
        self._commands.append(cmd)
        return cmd

    def add_module(self, module: ModuleType) -> int:
        """Every top-level command a module holds; returns how many."""
        found = [v for v in vars(module).values() if isinstance(v, Command) and v.parent is None]
        for cmd in found:
            self.add(cmd)
        return len(found)

    def __iter__(self) -> Iterator[Command]:
        return iter(sorted(self._commands, key=lambda c: c.name))

    def get(self, name: str) -> Command | None:
        return self._by_name.get(name.lower())

    def resolve(self, name: str, prefix: str = "!") -> Command:
        cmd = self.get(name)
        if cmd is None:
            close = difflib.get_close_matches(name.lower(), list(self._by_name), n=1, cutoff=0.6)
            if close:
                raise CommandNotFound(
                    N_("Unknown command “%(name)s”. Did you mean %(suggestion)s?"),
                    name=prefix + shown(name), suggestion=prefix + close[0],
                )
            raise CommandNotFound(N_("Unknown command “%(name)s”."), name=prefix + shown(name))
        return cmd
