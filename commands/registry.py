"""Commands are declared with decorators; the registry is filled when `commands` is imported.

    @command("ping", help=N_("Check that the bot answers"))
    async def ping(ctx: Context, text: Rest = "") -> None: ...

Arguments come from the handler's signature: each parameter after `ctx` is one word (quotes
group words), converted by its annotation; a `Rest` parameter takes the rest of the line.
Checks are attached with `@check(...)` and run before the handler.
"""

from __future__ import annotations

import difflib
import inspect
import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Union, get_args, get_origin, get_type_hints

from bot.errors import BadArgument, CommandNotFound, NotAllowed, UsageError
from bot.i18n import N_
from commands.parsing import Token, iter_tokens

if TYPE_CHECKING:
    from bot.context import Context

Handler = Callable[..., Awaitable[None]]


class Rest(str):
    """Annotation: the rest of the line, as typed (may be empty when it has a default)."""


class Converter(Protocol):
    async def convert(self, ctx: Context, raw: str) -> Any: ...


@dataclass(frozen=True)
class Check:
    """A permission check; `denied` is the message id shown when it fails."""

    predicate: Callable[[Context], Awaitable[bool]]
    denied: str
    name: str


def check(c: Check) -> Callable[[Handler], Handler]:
    """Attach a check to a handler (use below `@command`)."""

    def deco(func: Handler) -> Handler:
        checks: list[Check] = getattr(func, "__sbcc_checks__", [])
        func.__sbcc_checks__ = [c, *checks]  # type: ignore[attr-defined]
        return func

    return deco


async def _to_int(_ctx: Context, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise BadArgument(N_("“%(value)s” is not a whole number."), value=raw) from None


async def _to_str(_ctx: Context, raw: str) -> str:
    return raw


BUILTIN_CONVERTERS: dict[Any, Callable[[Context, str], Awaitable[Any]]] = {
    int: _to_int,
    str: _to_str,
    Rest: _to_str,
}


@dataclass(frozen=True)
class Param:
    name: str
    annotation: Any
    default: Any
    rest: bool

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def usage(self) -> str:
        label = f"{self.name}…" if self.rest else self.name
        return f"<{label}>" if self.required else f"[{label}]"

    async def convert(self, ctx: Context, raw: str) -> Any:
        converter = BUILTIN_CONVERTERS.get(self.annotation)
        if converter is not None:
            return await converter(ctx, raw)
        if hasattr(self.annotation, "convert"):
            return await self.annotation.convert(ctx, raw)
        raise TypeError(f"no converter for {self.annotation!r}")


@dataclass
class Command:
    name: str
    callback: Handler
    help: str
    aliases: tuple[str, ...] = ()
    checks: list[Check] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    hidden: bool = False

    def usage(self, prefix: str) -> str:
        return " ".join([f"{prefix}{self.name}", *(p.usage() for p in self.params)])

    async def allowed(self, ctx: Context) -> Check | None:
        """The first check that fails, or None when the sender may use the command."""
        for c in self.checks:
            if not await c.predicate(ctx):
                return c
        return None

    async def parse(self, ctx: Context, line: str) -> dict[str, Any]:
        """Convert the argument text into keyword arguments for the handler."""
        tokens = iter_tokens(line)
        kwargs: dict[str, Any] = {}
        for param in self.params:
            token = next(tokens, None)
            if token is None:
                if param.required:
                    raise UsageError(N_("Something is missing: %(name)s."), name=param.name)
                kwargs[param.name] = param.default
            elif param.rest:
                kwargs[param.name] = await param.convert(ctx, line[token.start:].strip())
                return kwargs
            else:
                kwargs[param.name] = await param.convert(ctx, token.text)
        extra = next(tokens, None)
        if extra is not None:
            raise UsageError(N_("Too many arguments: %(extra)s"), extra=_rest(line, extra))
        return kwargs


def _rest(line: str, token: Token) -> str:
    return line[token.start:].strip()


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _params(func: Handler) -> list[Param]:
    hints = get_type_hints(func)
    params = list(inspect.signature(func).parameters.values())[1:]  # skip ctx
    out = []
    for p in params:
        annotation = _unwrap_optional(hints.get(p.name, str))
        out.append(Param(p.name, annotation, p.default, annotation is Rest))
    if any(p.rest for p in out[:-1]):
        raise TypeError(f"{func.__qualname__}: only the last parameter may be Rest")
    return out


class Registry:
    """Every command by name and alias."""

    def __init__(self) -> None:
        self._by_name: dict[str, Command] = {}
        self._commands: list[Command] = []

    def command(self, name: str, *, help: str, aliases: tuple[str, ...] = (),
                hidden: bool = False) -> Callable[[Handler], Handler]:
        def deco(func: Handler) -> Handler:
            cmd = Command(name, func, help, aliases, list(getattr(func, "__sbcc_checks__", [])),
                          _params(func), hidden)
            for key in (name, *aliases):
                if key in self._by_name:
                    raise ValueError(f"command name {key!r} declared twice")
                self._by_name[key] = cmd
            self._commands.append(cmd)
            return func

        return deco

    def __iter__(self):  # type: ignore[no-untyped-def]
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
                    name=prefix + name, suggestion=prefix + close[0],
                )
            raise CommandNotFound(N_("Unknown command “%(name)s”."), name=prefix + name)
        return cmd


registry = Registry()
command = registry.command


def denied(c: Check) -> NotAllowed:
    return NotAllowed(c.denied)
