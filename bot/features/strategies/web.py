"""A strategy's document on the web: `GET /strategies/<id>` (an HTML page in the reader's
language) and the same as `/strategies/<id>.json`, `.md`, `.csv` and `.odt` (see
`export.py`). The page links the other formats.

- `<id>` is a positive number without leading zeros, at most `MAX_ID`: anything else is a
  404.
- A document that is not public is shown only with `?k=<key>` equal to its process's key
  (compared in constant time). A wrong or missing key gets the very same 404 as an
  unknown id — same body, same headers — and costs the same calls (`key_of` runs whenever
  a key was given, `load` always), so the answer tells nothing of which ids exist.
- Answers for a private document, and every 404, carry `Cache-Control: no-store` and
  `Referrer-Policy: no-referrer` (the key is in the URL); public ones may be cached for a
  minute. The page's links to the other formats carry `k` (when it was needed) and `lang`.
- Language: `?lang=`, else Accept-Language, else the bot's default (`bot.web.pages`). JSON
  and CSV are not translated.
- User text is escaped in every format: Jinja autoescape for HTML, and `export.py`'s
  escaping for Markdown (no links, no HTML), CSV (no formulas) and OpenDocument (XML).
"""

from __future__ import annotations

import asyncio
import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from yarl import URL

import bot.features.strategies.export as export
from bot.feature import RouteSetup
from bot.features.strategies.document import ProposalEntry, StrategyDocument
from bot.i18n import N_, BoundTranslator
from bot.web.pages import render, translator_of

Loader = Callable[[int], Awaitable[StrategyDocument | None]]
KeyOf = Callable[[int], Awaitable[str | None]]

MAX_ID = 2**31 - 1
FORMATS = ("json", "md", "csv", "odt")
_NAME = re.compile(r"([1-9][0-9]{0,9})(?:\.(json|md|csv|odt))?")
PUBLIC_CACHE = "public, max-age=60"
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
# the page loads nothing and runs no script; the inline <style> of base.html is all it uses
CSP = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")

# Jinja templates are not scanned by the project's babel extraction (babel.cfg and the
# catalog test look at Python files only), so every msgid that strategy.html and
# strategy_missing.html pass to `_()` is listed here too; a test checks that they agree.
TEMPLATE_STRINGS = (
    N_("Phase:"),
    N_("Started:"),
    N_("Members who voted:"),
    N_("Proposal #%(number)d"),
    N_("Proposed in:"),
    N_("Status:"),
    N_("Reason:"),
    N_("Endorsements:"),
    N_("Amendments:"),
    N_("Votes by location"),
    N_("Location"),
    N_("Votes"),
    N_("Total"),
    N_("Proposal"),
    N_("No proposals in this section."),
    N_("Other formats"),
    N_("A document to edit (OpenDocument)"),
    N_("As text (Markdown)"),
    N_("The votes as a table (CSV)"),
    N_("The same as data (JSON)"),
    N_("Strategy not found"),
    N_("There is no strategy at this address, or the link to it is incomplete: a strategy "
       "that is not public opens only with the full link its coordinators shared."),
)


def routes(load: Loader, key_of: KeyOf) -> RouteSetup:
    """`GET /strategies/<id>[.json|.md|.csv|.odt]`; `load(id)` gives the document (None
    when there is none), `key_of(id)` the key a private one needs (None when none)."""
    pages = StrategyPages(load, key_of)

    def setup(app: web.Application) -> None:
        app.router.add_get("/strategies/{name}", pages.serve)

    return setup


def key_matches(given: str | None, expected: str | None) -> bool:
    """Whether the key given opens the document (constant time; an empty key never)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))


class StrategyPages:
    def __init__(self, load: Loader, key_of: KeyOf) -> None:
        self.load = load
        self.key_of = key_of

    async def serve(self, request: web.Request) -> web.StreamResponse:
        match = _NAME.fullmatch(request.match_info["name"])
        if match is None or int(match[1]) > MAX_ID:
            return missing(request)
        number, kind = int(match[1]), match[2] or "html"
        given = request.query.get("k")
        # the same calls whether the id exists or not: key_of whenever a key was given
        expected = await self.key_of(number) if given is not None else None
        doc = await self.load(number)
        if doc is None or not (doc.public or key_matches(given, expected)):
            return missing(request)
        key = None if doc.public else given
        tr = translator_of(request)
        response: web.StreamResponse
        if kind == "json":
            response = web.json_response(export.to_json(doc))
            if doc.public:
                response.headers["Access-Control-Allow-Origin"] = "*"  # read-only
        elif kind == "md":
            response = _download(export.to_markdown(doc, tr).encode("utf-8"),
                                 "text/markdown", f"strategy-{doc.id}.md", charset="utf-8")
        elif kind == "csv":
            response = _download(export.to_csv(doc).encode("utf-8"), "text/csv",
                                 f"strategy-{doc.id}.csv", charset="utf-8")
        elif kind == "odt":
            # a thousand proposals take seconds to write: not on the event loop
            response = _download(await asyncio.to_thread(export.to_odt, doc, tr),
                                 export.ODT_MIMETYPE,
                                 f"strategy-{doc.id}.odt")
        else:
            response = render(request, "strategy.html", doc=page_view(doc, tr),
                              links=format_links(doc.id, key, tr.locale))
            response.headers["Content-Security-Policy"] = CSP
        if kind in ("html", "md", "odt"):
            response.headers["Content-Language"] = tr.locale
            response.headers["Vary"] = "Accept-Language"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if doc.public:
            response.headers["Cache-Control"] = PUBLIC_CACHE
        else:
            response.headers.update(PRIVATE_HEADERS)
        return response


def missing(request: web.Request) -> web.Response:
    """The one 404 for an unknown id, a malformed one and a missing or wrong key."""
    response = render(request, "strategy_missing.html", status=404)
    response.headers.update(PRIVATE_HEADERS)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = CSP
    return response


def _download(body: bytes, content_type: str, filename: str,
              charset: str | None = None) -> web.Response:
    response = web.Response(body=body, content_type=content_type, charset=charset)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def format_links(strategy_id: int, key: str | None, locale: str) -> dict[str, str]:
    """Relative links to the other formats, keeping the language and (when the document
    needs one) the key."""
    query = {"lang": locale, **({"k": key} if key else {})}
    return {kind: str(URL(f"{strategy_id}.{kind}").with_query(query)) for kind in FORMATS}


# -- the page's view -----------------------------------------------------------------


def _paragraphs(text: str) -> list[list[str]]:
    """A proposal as paragraphs of lines (blank lines part paragraphs)."""
    out = []
    for paragraph in re.split(r"\n[ \t]*\n", export.clean(text).strip()):
        lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
        if lines:
            out.append(lines)
    return out


def page_view(doc: StrategyDocument, tr: BoundTranslator) -> dict[str, Any]:
    """What strategy.html shows, every value a plain string or number (autoescaped)."""
    columns = export.vote_columns(doc)
    votes = export.shows_votes(doc)
    anchors: dict[tuple[str, int], str] = {}

    def proposal(s: int, entry: ProposalEntry) -> dict[str, Any]:
        anchor = anchors[(entry.section, entry.number)] = f"s{s}-p{entry.number}"
        return {
            "anchor": anchor, "number": entry.number, "voted_on": export.voted_on(entry),
            "paragraphs": _paragraphs(entry.text), "place": export.one_line(entry.place),
            "status": export.status_label(tr, entry),
            "reason": export.one_line(entry.reason) if entry.reason else None,
            "endorsements": entry.endorsements, "amended": entry.amended,
            "votes": [(export.one_line(place), entry.votes.get(key, 0))
                      for key, place in columns],
            "total": export.total(entry),
        }

    sections = [{"title": export.section_title(name),
                 "proposals": [proposal(s, p) for p in entries]}
                for s, (name, entries) in enumerate(export.sections(doc), start=1)]
    results = [{"title": export.section_title(name),
                "rows": [{"anchor": anchors.get((p.section, p.number), ""),
                          "number": p.number, "excerpt": export.excerpt(p.text),
                          "votes": [p.votes.get(key, 0) for key, _place in columns],
                          "total": export.total(p)} for p in ranked]}
               for name, ranked in export.ranking(doc)] if votes else []
    return {
        "title": export.one_line(doc.title),
        "phase": export.phase_label(tr, doc.phase),
        "started": export.format_day(doc.created_at, tr.locale),
        "started_iso": export.iso(doc.created_at),
        "deadlines": [{"label": export.deadline_label(tr, phase), "iso": export.iso(end),
                       "text": export.format_when(end, tr.locale)}
                      for phase, end in export.deadlines(doc)],
        "voters": [f"{export.one_line(place)} {doc.voters.get(key, 0)}"
                   for key, place in columns] if doc.voters else [],
        "votes": votes,
        "columns": [export.one_line(place) for _key, place in columns],
        "sections": sections,
        "results_heading": export.results_heading(tr, doc),
        "results": results,
    }
