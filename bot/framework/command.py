"""Commands and subcommand groups, declared with decorators (the shape of discord.py's
`@command` / `@group` and maubot's `.subcommand`):

    @command("ping", help=N_("Check that the bot answers"))
    async def ping(ctx: Context, text: Rest = "") -> None: ...

    forum = group("forum", help=N_("…"))(show_one)        # `!forum 12` runs show_one

    @forum.command("add", help=N_("…"))
    @check(coordinator)
    async def add(ctx: Context, day: Date, at: Time, place: Location, title: Rest,
                  *, capacity: Capacity | None = None) -> None: ...

A decorator returns a `Command` object; nothing is registered anywhere until a `Registry`
(owned by the App) collects the command modules.

Arguments come from the handler's signature: each positional parameter after `ctx` is one
word (quotes group words), converted by its annotation; a `Rest` parameter takes the rest
of the line; a keyword-only parameter is a flag written `--name value` anywhere in the line
(`--name` alone for a `bool`). `Annotated[int, Range(1, 20)]` bounds a number. Checks are
attached with `@check(...)` and run before anything is parsed; a group's checks cover its
subcommands.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Protocol,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
)

from bot.errors import BadArgument, NotAllowed, UsageError
from bot.framework.parsing import Token, iter_tokens
from bot.i18n import N_

if TYPE_CHECKING:
    from bot.context import Context

Handler = Callable[..., Awaitable[None]]
F = TypeVar("F", bound=Callable[..., Any])


class Rest(str):
    """Annotation: the rest of the line, as typed (may be empty when it has a default)."""


class Converter(Protocol):
    async def convert(self, ctx: Context, raw: str) -> Any: ...


@dataclass(frozen=True)
class Check:
    """A permission check; `denied` is the message id shown when it fails (it may use
    %(prefix)s, the command prefix)."""

    predicate: Callable[[Context], Awaitable[bool]]
    denied: str
    name: str


def check(c: Check) -> Callable[[F], F]:
    """Attach a check to a handler (below `@command`), or to a declared command."""

    def deco(func: F) -> F:
        if isinstance(func, Command):
            func.checks.insert(0, c)
            return func
        checks: list[Check] = getattr(func, "__sbcc_checks__", [])
        func.__sbcc_checks__ = [c, *checks]  # type: ignore[attr-defined]
        return func

    return deco


async def to_int(raw: str) -> int:
    """A whole number as typed; at most nine digits, so nothing huge reaches the database."""
    text = raw.strip()
    digits = text.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
        raise BadArgument(N_("“%(value)s” is not a whole number."), value=raw[:40])
    return int(text)


@dataclass(frozen=True)
class Range:
    """`Annotated[int, Range(1, 20)]`: a whole number from `low` to `high`; `msgid` (with
    %(min)d and %(max)d) says what is wanted when it is not."""

    low: int
    high: int
    msgid: str = N_("Choose a number from %(min)d to %(max)d.")

    async def convert(self, _ctx: Context, raw: str) -> int:
        value = await to_int(raw)
        if not self.low <= value <= self.high:
            raise BadArgument(self.msgid, min=self.low, max=self.high, value=raw[:40])
        return value


@dataclass(frozen=True)
class Flag:
    """`Annotated[str, Flag("all")]`: the flag's name on the command line (`--all`) when it
    is not the parameter's name."""

    name: str


async def _to_int(_ctx: Context, raw: str) -> int:
    return await to_int(raw)


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
    annotation: Any  # the type, Optional and Annotated taken off
    converter: Callable[[Context, str], Awaitable[Any]]
    default: Any
    rest: bool = False
    flag: str | None = None  # "--capacity": given by name anywhere in the line
    switch: bool = False  # a flag without a value (bool)
    metavar: str | None = None  # how the value reads in a usage line (YYYY-MM-DD), if not name

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def usage(self) -> str:
        shown = self.metavar or self.name
        if self.flag:
            return f"[{self.flag}]" if self.switch else f"[{self.flag} <{shown}>]"
        label = f"{shown}…" if self.rest and not self.metavar else shown
        return f"<{label}>" if self.required else f"[{label}]"


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _converter(annotation: Any, metadata: tuple[Any, ...], where: str
               ) -> Callable[[Context, str], Awaitable[Any]]:
    for meta in metadata:
        if hasattr(meta, "convert"):
            return cast("Callable[[Context, str], Awaitable[Any]]", meta.convert)
    builtin = BUILTIN_CONVERTERS.get(annotation)
    if builtin is not None:
        return builtin
    if hasattr(annotation, "convert"):
        return cast("Callable[[Context, str], Awaitable[Any]]", annotation.convert)
    if annotation is bool:
        return _to_str  # only as a switch; never converted
    raise TypeError(f"{where}: no converter for {annotation!r}")


def _hints(func: Handler, names: list[str]) -> dict[str, Any]:
    """The annotations of `names` (not of `ctx`, whose type may be imported for type
    checking only), evaluated as `typing.get_type_hints` would."""
    def only() -> None:  # a stand-in that carries just these annotations
        pass

    only.__annotations__ = {n: a for n, a in inspect.get_annotations(func).items()
                            if n in names}
    return get_type_hints(only, globalns=func.__globals__, include_extras=True)


def _params(func: Handler) -> tuple[list[Param], dict[str, Param]]:
    """Positional parameters (in order) and flags (by their --name) of a handler."""
    params = list(inspect.signature(func).parameters.values())[1:]  # skip ctx
    hints = _hints(func, [p.name for p in params])
    positional: list[Param] = []
    flags: dict[str, Param] = {}
    for p in params:
        annotation = _unwrap_optional(hints.get(p.name, str))
        metadata: tuple[Any, ...] = ()
        if get_origin(annotation) is Annotated:
            annotation, metadata = annotation.__origin__, annotation.__metadata__
            annotation = _unwrap_optional(annotation)
        convert = _converter(annotation, metadata, f"{func.__qualname__}({p.name})")
        # a converter may say how its value reads in usage lines (`metavar = "YYYY-MM-DD"`)
        metavar = next((m.metavar for m in (*metadata, annotation)
                        if isinstance(getattr(m, "metavar", None), str)), None)
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            name = next((m.name for m in metadata if isinstance(m, Flag)),
                        p.name.replace("_", "-"))
            if p.default is inspect.Parameter.empty:
                raise TypeError(f"{func.__qualname__}: the flag {p.name} needs a default")
            flags["--" + name] = Param(p.name, annotation, convert, p.default,
                                       flag="--" + name, switch=annotation is bool,
                                       metavar=metavar)
        else:
            positional.append(Param(p.name, annotation, convert, p.default,
                                    rest=annotation is Rest, metavar=metavar))
    if any(p.rest for p in positional[:-1]):
        raise TypeError(f"{func.__qualname__}: only the last parameter may be Rest")
    return positional, flags


@dataclass
class Invocation:
    """What the dispatcher learns while a command line is handled: the command (or
    subcommand) that was reached, for its usage line and its metrics label."""

    command: Command | None = None


@dataclass(eq=False)
class Command:
    name: str
    callback: Handler
    help: str
    aliases: tuple[str, ...] = ()
    checks: list[Check] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    flags: dict[str, Param] = field(default_factory=dict)
    parent: Group | None = None

    @classmethod
    def from_function(cls, func: Handler, name: str, help: str,
                      aliases: tuple[str, ...] = (), parent: Group | None = None) -> Command:
        params, flags = _params(func)
        return cls(name, func, help, aliases, list(getattr(func, "__sbcc_checks__", [])),
                   params, flags, parent)

    @property
    def qualified_name(self) -> str:
        return f"{self.parent.qualified_name} {self.name}" if self.parent else self.name

    def check_names(self) -> set[str]:
        """The names of the checks that limit who may use it (its own and its group's)."""
        own = {c.name for c in self.checks}
        return own | self.parent.check_names() if self.parent is not None else own

    def usage(self, prefix: str) -> str:
        return " ".join([f"{prefix}{self.qualified_name}", *(p.usage() for p in self.params),
                         *(f.usage() for f in self.flags.values())])

    def usage_lines(self, prefix: str) -> list[str]:
        """How to call it: one line, or for a group one per form."""
        return [self.usage(prefix)]

    def walk(self) -> Iterator[Command]:
        """This command and, for a group, each of its subcommands."""
        yield self

    async def failed_check(self, ctx: Context) -> Check | None:
        """The first check that fails (the group's before its own), or None when the
        sender may use the command."""
        if self.parent is not None:
            failed = await self.parent.failed_check(ctx)
            if failed is not None:
                return failed
        for c in self.checks:
            if not await c.predicate(ctx):
                return c
        return None

    async def _own_checks(self, ctx: Context) -> None:
        for c in self.checks:
            if not await c.predicate(ctx):
                raise NotAllowed(c.denied, prefix=ctx.prefix)

    async def parse(self, ctx: Context, line: str) -> dict[str, Any]:
        """Convert the argument text into keyword arguments for the handler."""
        kwargs: dict[str, Any] = {}
        if self.flags:
            line = await self._take_flags(ctx, line, kwargs)
        tokens = iter_tokens(line)
        for param in self.params:
            token = next(tokens, None)
            if token is None:
                if param.required:
                    raise UsageError(N_("Something is missing: %(name)s."), name=param.name)
                kwargs[param.name] = param.default
            elif param.rest:
                kwargs[param.name] = await param.converter(ctx, line[token.start:].strip())
                return kwargs
            else:
                kwargs[param.name] = await param.converter(ctx, token.text)
        extra = next(tokens, None)
        if extra is not None:
            raise UsageError(N_("Too many arguments: %(extra)s"), extra=_rest(line, extra))
        return kwargs

    async def _take_flags(self, ctx: Context, line: str, kwargs: dict[str, Any]) -> str:
        """Fill `kwargs` with the flags found in `line`; returns the line without them."""
        for param in self.flags.values():
            kwargs[param.name] = param.default
        tokens: list[Token] = []
        try:
            tokens.extend(iter_tokens(line))
        except UsageError:  # an unclosed quote: no flag after it (a Rest takes it as typed)
            pass
        cut: list[tuple[int, int]] = []
        i = 0
        while i < len(tokens):
            found = self.flags.get(tokens[i].text.casefold())
            if found is None:
                i += 1
                continue
            param = found
            if param.switch:
                kwargs[param.name] = True
                cut.append((tokens[i].start, tokens[i].end))
                i += 1
                continue
            if i + 1 >= len(tokens):
                raise UsageError(N_("%(flag)s needs a value."), flag=param.flag)
            kwargs[param.name] = await param.converter(ctx, tokens[i + 1].text)
            cut.append((tokens[i].start, tokens[i + 1].end))
            i += 2
        for start, end in reversed(cut):
            line = line[:start] + " " + line[end:]
        return line

    async def invoke(self, ctx: Context, line: str, seen: Invocation) -> None:
        """Check, parse and run; `seen` learns which command was reached."""
        seen.command = self
        await self._own_checks(ctx)
        await self.callback(ctx, **await self.parse(ctx, line))


def _rest(line: str, token: Token) -> str:
    return line[token.start:].strip()


@dataclass(eq=False)
class Group(Command):
    """A command with subcommands (`!forum add …`). Its own handler runs when the first word
    names no subcommand: with the whole line as its arguments (`!forum 12`)."""

    subcommands: dict[str, Command] = field(default_factory=dict)
    _ordered: list[Command] = field(default_factory=list)

    def command(self, name: str, *, help: str,
                aliases: tuple[str, ...] = ()) -> Callable[[Handler], Command]:
        def deco(func: Handler) -> Command:
            sub = Command.from_function(func, name, help, aliases, parent=self)
            for key in (name, *aliases):
                if key in self.subcommands:
                    raise ValueError(f"{self.name} {key!r} declared twice")
                self.subcommands[key] = sub
            self._ordered.append(sub)
            return sub

        return deco

    @property
    def commands(self) -> list[Command]:
        """The subcommands, in the order they were declared."""
        return list(self._ordered)

    def walk(self) -> Iterator[Command]:
        yield self
        yield from self._ordered

    def usage_lines(self, prefix: str) -> list[str]:
        own = [self.usage(prefix)] if self.params else []
        return own + [sub.usage(prefix) for sub in self._ordered]

    def choices(self) -> str:
        return ", ".join(c.name for c in self._ordered)

    async def invoke(self, ctx: Context, line: str, seen: Invocation) -> None:
        seen.command = self
        await self._own_checks(ctx)
        first = next(iter_tokens(line), None)
        sub = self.subcommands.get(first.text.casefold()) if first else None
        if sub is not None and first is not None:
            await sub.invoke(ctx, line[first.end:], seen)
            return
        if first is not None and not self.params:
            raise UsageError(N_("“%(value)s” is not one of: %(actions)s."),
                             value=first.text[:40], actions=self.choices())
        await self.callback(ctx, **await self.parse(ctx, line))


def subcommands(name: str, *, help: str, aliases: tuple[str, ...] = (),
                checks: tuple[Check, ...] = ()) -> Group:
    """Declare a group that is only its subcommands (`!digest preview|subscribe|…`); alone,
    it answers with what is missing and the usage of each subcommand."""

    async def choose(_ctx: Context) -> None:
        raise UsageError(N_("Something is missing: %(name)s."), name=grp.choices())

    grp = Group(name, choose, help, aliases, list(checks))
    return grp


def command(name: str, *, help: str, aliases: tuple[str, ...] = ()
            ) -> Callable[[Handler], Command]:
    """Declare a command; the decorated function becomes a `Command`."""

    def deco(func: Handler) -> Command:
        return Command.from_function(func, name, help, aliases)

    return deco


def group(name: str, *, help: str, aliases: tuple[str, ...] = ()
          ) -> Callable[[Handler], Group]:
    """Declare a group of subcommands; the decorated function answers when the first word
    names none of them (with no parameters: when nothing follows the group's name)."""

    def deco(func: Handler) -> Group:
        params, flags = _params(func)
        return Group(name, func, help, aliases, list(getattr(func, "__sbcc_checks__", [])),
                     params, flags)

    return deco
