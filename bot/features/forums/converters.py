"""The arguments of the forum commands, as annotations for `bot.framework`:

    async def add(ctx, date: Day, time: Clock, location: Place, title: Title, *,
                  capacity: Capacity = None, online: WebAddress | None = None) -> None

Each converts what was typed or raises `BadArgument` saying what is wanted. `metavar` is how
the argument reads in a usage line (YYYY-MM-DD rather than the parameter's name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from typing import TYPE_CHECKING, Annotated, Any

from bot.errors import BadArgument
from bot.features.forums.service import (
    ANSWERS,
    NO_SUCH_EVENT,
    WITHDRAW,
    parse_capacity,
    parse_clock,
    parse_day,
)
from bot.framework import Ref, Rest
from bot.framework.parsing import iter_tokens
from bot.i18n import N_

if TYPE_CHECKING:
    from bot.context import Context


@dataclass(frozen=True)
class Parsed:
    """A converter made of a plain function of the typed text."""

    parse: Callable[[str], Any]
    metavar: str | None = None

    async def convert(self, _ctx: Context, raw: str) -> Any:
        return self.parse(raw)


def parse_web_address(text: str) -> str:
    if not text.startswith(("https://", "http://")):
        raise BadArgument(N_("“%(value)s” is not a web address."), value=text)
    return text


def parse_answer(text: str) -> str:
    """yes, maybe or no; withdraw (also none or -) takes an answer back (`WITHDRAW`)."""
    word = text.casefold()
    if word in ("withdraw", "none", "-"):
        return WITHDRAW
    if word in ANSWERS:
        return word
    raise BadArgument(N_("Answer yes, maybe, no or withdraw."))


def words(text: str) -> str:
    """The words of a title: a quoted run ("Annual Forum") counts as words without its
    quotation marks, as `!forum add` always read it."""
    return " ".join(token.text for token in iter_tokens(text))


# 0 or a number beyond the column: "There is no event number …", as for an unknown one
EventNumber = Annotated[int, Ref(N_("“%(value)s” is not an event number."), missing=NO_SUCH_EVENT)]
Day = Annotated[date, Parsed(parse_day, "YYYY-MM-DD")]
Clock = Annotated[time, Parsed(parse_clock, "HH:MM")]
Title = Annotated[Rest, Parsed(words)]
Field = Annotated[str, Parsed(str.casefold, "date|time|title|capacity")]  # checked by edit
# none, -, 0 or unlimited: no limit
Capacity = Annotated[int | None, Parsed(parse_capacity, "N")]
WebAddress = Annotated[str, Parsed(parse_web_address, "URL")]
Answer = Annotated[str, Parsed(parse_answer, "yes|maybe|no|withdraw")]
