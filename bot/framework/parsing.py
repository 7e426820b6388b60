"""Splitting a command line into words; quotes group words, like a shell but forgiving."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from bot.errors import UsageError
from bot.i18n import N_

_WORD = re.compile(r"\S+")
# an opening quotation mark and the mark that closes it ("…", “…”, „…”, «…»)
QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u201e": "\u201d", "\u00ab": "\u00bb"}


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # index in the source line, so "the rest of the line" can be taken raw
    end: int


def iter_tokens(line: str) -> Iterator[Token]:
    """Words separated by white space; a quoted run ("a b") is one word without its quotes.
    Lazy, so a caller that takes the rest of the line raw never trips on its quotes."""
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        start = i
        close = QUOTES.get(line[i])
        if close:
            end = line.find(close, i + 1)
            if end == -1:
                raise UsageError(N_("A quotation mark is not closed."))
            yield Token(line[i + 1:end], start, end + 1)
            i = end + 1
            continue
        match = _WORD.match(line, i)
        assert match is not None
        yield Token(match.group(), start, match.end())
        i = match.end()


def tokenize(line: str) -> list[Token]:
    return list(iter_tokens(line))


def unquote_value(value: str) -> str:
    """A value typed in quotes ("Studio Nord") without them."""
    value = value.strip()
    if len(value) >= 2 and QUOTES.get(value[0]) == value[-1]:
        return value[1:-1].strip()
    return value


REPLY_FALLBACK = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL)


def strip_reply_fallback(body: str) -> str:
    """Drop the `> quoted` lines a client puts before a reply's own text."""
    lines = body.split("\n")
    if lines and lines[0].startswith("> "):
        while lines and lines[0].startswith(">"):
            lines.pop(0)
        while lines and not lines[0].strip():
            lines.pop(0)
    return "\n".join(lines)
