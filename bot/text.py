"""Cleaning what people type before the bot stores or repeats it: control and bidi
characters out, white space collapsed, names bounded, and a short form of a rejected value
for error messages."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

SHOWN = 40  # how much of a rejected value an error message repeats
SURROGATE = re.compile("[\ud800-\udfff]")  # lone halves JSON escapes can produce
# Bidirectional controls (embeddings, overrides, isolates, marks): in a name, title or bio
# they can reorder what readers see around them ("Trojan source", spoofed names).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")


def shown(value: str, limit: int = SHOWN) -> str:
    """A rejected value as an error message repeats it: short, on one line."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[:limit - 1] + "…"


def strip_controls(text: str) -> str:
    """Without control characters (but white space) and bidirectional controls."""
    return "".join(ch for ch in text if ch not in BIDI_CONTROLS
                   and (unicodedata.category(ch) != "Cc" or ch.isspace()))


def clean_line(text: str) -> str:
    """One line of free text: control and bidi characters dropped, white space collapsed."""
    return " ".join(strip_controls(text).split())


def clean_block(text: str) -> str:
    """Free text that may span lines: each line cleaned, at most one empty line in a row."""
    lines = [clean_line(line) for line in text.replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def clean_name(text: str | None, limit: int = 255) -> str | None:
    """A display name as the bot keeps it: one clean line, at most `limit` characters
    (Matrix allows longer ones than the database column holds); None when nothing is left."""
    if text is None:
        return None
    name = clean_line(text)
    if len(name) > limit:
        name = name[:limit - 1] + "…"
    return name or None


def has_lone_surrogate(value: Any) -> bool:
    """Whether a lone surrogate is in any string (key or value) of decoded JSON — no
    encoding, database or homeserver takes one. Iterative, so a deeply nested value cannot
    exhaust the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def without_surrogates(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD."""
    return SURROGATE.sub("\ufffd", text)
