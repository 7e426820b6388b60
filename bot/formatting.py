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
