"""Converters for command arguments: `async convert(ctx, raw)` or raise BadArgument."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

from bot.errors import BadArgument
from bot.i18n import N_, SUPPORTED_LANGUAGES, normalise_language
from commands.parsing import REPLY_FALLBACK

if TYPE_CHECKING:
    from bot.context import Context


class LanguageCode(str):
    """One of the supported language codes (en, pl, de, lt, sv)."""

    @classmethod
    async def convert(cls, ctx: Context, raw: str) -> LanguageCode:
        code = normalise_language(raw)
        if code is None:
            raise BadArgument(
                N_("“%(value)s” is not a language I speak. Choose one of: %(choices)s."),
                value=raw, choices=", ".join(SUPPORTED_LANGUAGES),
            )
        return cls(code)


# A user ID's shape: historical localparts allow any printable ASCII but ':'.
MXID_RE = re.compile(r"^@[!-9;-~]{1,255}:[A-Za-z0-9.\-]+(:\d+)?$")
MATRIX_TO_RE = re.compile(r"https://matrix\.to/#/((?:@|%40)[^\s\"'<>?]+)", re.IGNORECASE)
QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u201e": "\u201d", "\u00ab": "\u00bb"}


def unquote_value(value: str) -> str:
    """A value typed in quotes ("Studio Nord") without them."""
    value = value.strip()
    if len(value) >= 2 and QUOTES.get(value[0]) == value[-1]:
        return value[1:-1].strip()
    return value


def message_html(ctx: Context) -> str:
    """The message's HTML without a client's reply quote."""
    return REPLY_FALLBACK.sub("", ctx.message.formatted_body or "")


def pills(html: str, start: int = 0) -> list[str]:
    """The users mentioned (as matrix.to pills) in `html` from `start` on, in order."""
    found = (unquote(m.group(1)) for m in MATRIX_TO_RE.finditer(html, start))
    return [mxid for mxid in dict.fromkeys(found) if MXID_RE.match(mxid)]


def user_argument(ctx: Context, raw: str) -> str:
    """A user named by a typed @name:server, a matrix.to link, or a mention pill (whose
    plain text is only the display name)."""
    link = MATRIX_TO_RE.search(raw)
    if link:
        return unquote(link.group(1))
    candidate = raw.strip().rstrip(".,;!?")
    if MXID_RE.match(candidate):
        return candidate
    mentioned = pills(message_html(ctx))
    if mentioned:
        return mentioned[0]
    raise BadArgument(N_("“%(value)s” is not a Matrix ID. Write it like @name:server, or "
                         "mention the person."), value=raw.strip()[:80])


def parse_switch(value: str) -> bool:
    """on/off (yes/no, true/false, 1/0), for switches."""
    word = value.strip().casefold()
    if word in ("on", "yes", "true", "1"):
        return True
    if word in ("off", "no", "false", "0"):
        return False
    raise BadArgument(N_("“%(value)s” is neither on nor off."), value=value[:40])
