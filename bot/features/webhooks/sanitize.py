"""HTML from outside (a webhook's `html`) cut down to what Matrix clients may render.

`sanitize_html` keeps exactly the subset the Matrix client-server API recommends for
`org.matrix.custom.html` (spec: "m.room.message msgtypes", section on HTML):

- tags: font, del, h1–h6, blockquote, p, a, ul, ol, sup, sub, li, b, i, u, strong, em, s,
  code, hr, br, div, table, thead, tbody, tr, th, td, caption, pre, span, img, details,
  summary; any other tag is removed but its text kept, except `script`, `style` and
  `mx-reply` (a forged reply fallback), which go with their content;
- attributes: font `data-mx-bg-color data-mx-color color`, span `data-mx-bg-color
  data-mx-color data-mx-spoiler`, a `name target href`, img `width height alt title src`,
  ol `start`, code `class`; everything else (`style`, `on*`, `id`, …) is dropped;
- values: links only with the schemes https, http, ftp, mailto and magnet (relative links
  are dropped too: they mean nothing in a chat message); colours only as `#rrggbb`;
  `width`/`height`/`start` only as numbers; `target` only `_blank`; `class` on code only
  `language-*` names;
- images only from the homeserver's media repository (`mxc://`): any other `<img>` is
  removed entirely, since clients must not fetch arbitrary URLs for a room;
- links get `rel="noopener"`; comments are removed.

nh3 (ammonia) parses with a real HTML5 parser and re-serialises, so the output is
well-formed and every attribute value is double-quoted with `"`, `<` and `>` escaped —
which is what makes the final removal of source-less `<img>` tags by pattern safe.
"""

from __future__ import annotations

import re

import nh3

TAGS = frozenset({
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol",
    "sup", "sub", "li", "b", "i", "u", "strong", "em", "s", "code", "hr", "br", "div",
    "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "span", "img", "details",
    "summary",
})
ATTRIBUTES = {
    "font": {"data-mx-bg-color", "data-mx-color", "color"},
    "span": {"data-mx-bg-color", "data-mx-color", "data-mx-spoiler"},
    "a": {"name", "target", "href"},
    "img": {"width", "height", "alt", "title", "src"},
    "ol": {"start"},
    "code": {"class"},
}
LINK_SCHEMES = frozenset({"https", "http", "ftp", "mailto", "magnet"})
DROPPED_WITH_CONTENT = frozenset({"script", "style", "mx-reply"})
LINK_REL = "noopener"

_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_NUMBER_RE = re.compile(r"^\d{1,5}$")
_IMG_RE = re.compile(r"<img\b[^>]*>")
COLOR_ATTRIBUTES = frozenset({"data-mx-bg-color", "data-mx-color", "color"})


def _scheme(url: str) -> str | None:
    m = _SCHEME_RE.match(url.strip())
    return m[1].lower() if m else None


def _filter(tag: str, attribute: str, value: str) -> str | None:
    """Per-value rules nh3's allow-lists cannot express (None drops the attribute)."""
    if tag == "a" and attribute == "href":
        return value if _scheme(value) in LINK_SCHEMES else None
    if tag == "img" and attribute == "src":
        return value if value.startswith("mxc://") and len(value) > 6 else None
    if attribute in COLOR_ATTRIBUTES:
        return value if _COLOR_RE.match(value) else None
    if attribute in ("width", "height", "start"):
        return value if _NUMBER_RE.match(value.strip()) else None
    if tag == "a" and attribute == "target":
        return value if value == "_blank" else None
    if tag == "code" and attribute == "class":
        names = [n for n in value.split() if n.startswith("language-") and len(n) > 9]
        return " ".join(names) or None
    return value


def _drop_foreign_image(match: re.Match[str]) -> str:
    return match[0] if ' src="' in match[0] else ""


def sanitize_html(html: str) -> str:
    """`html` reduced to the Matrix-recommended subset (see the module's docstring)."""
    clean = nh3.clean(
        html, tags=set(TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ATTRIBUTES.items()},
        attribute_filter=_filter, strip_comments=True, link_rel=LINK_REL,
        url_schemes=set(LINK_SCHEMES | {"mxc"}))
    return _IMG_RE.sub(_drop_foreign_image, clean)
