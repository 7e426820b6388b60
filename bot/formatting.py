"""Building message bodies: every piece of user text that goes into HTML is escaped here."""

from __future__ import annotations

import html
from typing import Any


def escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def text_to_html(text: str) -> str:
    """Plain text as safe HTML, line breaks kept."""
    return escape(text).replace("\n", "<br>")


def markup(template: str, **params: Any) -> str:
    """Fill a trusted HTML template (``%(name)s`` placeholders) with escaped values."""
    return template % {k: escape(v) for k, v in params.items()}


def mention_link(user_id: str, label: str | None = None) -> str:
    """A pill: an HTML link to matrix.to for `user_id` (escaped)."""
    return markup('<a href="https://matrix.to/#/%(uid)s">%(label)s</a>', uid=user_id,
                  label=label or user_id)


class Rich:
    """A value with a plain-text and an (already safe) HTML form, e.g. a mention pill."""

    __slots__ = ("html", "text")

    def __init__(self, text: str, html: str) -> None:
        self.text = text
        self.html = html


def fill(template: str, **params: Any) -> tuple[str, str]:
    """Fill a translated template twice: as plain text, and as HTML in which the template's
    own text and every plain value are escaped while `Rich` values bring their HTML."""
    text = template % {k: v.text if isinstance(v, Rich) else v for k, v in params.items()}
    html = escape(template) % {
        k: v.html if isinstance(v, Rich) else escape(v) if isinstance(v, str) else v
        for k, v in params.items()}
    return text, html.replace("\n", "<br>")


def pill(user_id: str, name: str | None = None) -> Rich:
    """A mention: the display name in text, a matrix.to link in HTML."""
    return Rich(name or user_id, mention_link(user_id, name))
