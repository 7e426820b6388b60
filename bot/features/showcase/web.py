"""The public showcase: `GET /showcase` (HTML in the reader's language), `/showcase.json`
and `/showcase.atom` (a feed of new collaborations).

Only what members agreed to show ever leaves here: `ShowcaseService` selects members who
opted in (`!consent showcase on`) and collaborations whose every member did. Pages are
rendered with autoescape on; the feed is built with ElementTree, so titles with `<&>`
still give valid XML. Responses may be cached for five minutes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from babel.dates import format_date

from bot.deps import Deps
from bot.features.collaborations.messages import status_label
from bot.features.collaborations.service import Page
from bot.features.showcase.service import (
    COLLABORATIONS_PER_PAGE,
    MAX_PAGE,
    MEMBERS_PER_PAGE,
    ShowcaseCollaboration,
    ShowcaseMember,
    ShowcasePerson,
    ShowcaseService,
)
from bot.i18n import N_, BoundTranslator
from bot.web.pages import DEPS, render, translator_of
from rooms.topology import NetworkConfig

ATOM_NS = "http://www.w3.org/2005/Atom"
CACHE_CONTROL = "public, max-age=300"
# the pages load nothing and run no script; the inline <style> of base.html is all they use
CSP = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
# characters XML 1.0 does not allow, even escaped (a display name may carry them)
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Jinja templates are not scanned by the project's babel extraction (babel.cfg and the
# catalog test look at Python files only), so every msgid that showcase.html passes to
# `_()` is listed here too; a test checks that the two agree.
TEMPLATE_STRINGS = (
    N_("Showcase"),
    N_("Members of %(network)s who chose to be shown here, and the collaborations in "
       "which every member agreed to be shown."),
    N_("Members choose in a chat with the bot: %(join)s to appear here, %(leave)s to "
       "withdraw."),
    N_("Members"),
    N_("Organisation:"),
    N_("Location:"),
    N_("Offers:"),
    N_("Nobody is shown here yet."),
    N_("Collaborations"),
    N_("Status:"),
    N_("Recorded:"),
    N_("Members:"),
    N_("No collaboration is shown here yet: one appears when all its members have agreed."),
    N_("Pages"),
    N_("Previous page"),
    N_("Next page"),
    N_("Other formats"),
    N_("The same as data (JSON)"),
    N_("New collaborations as a feed (Atom)"),
)


def setup(app: web.Application) -> None:
    app.router.add_get("/showcase", showcase_page)
    app.router.add_get("/showcase.json", showcase_json)
    app.router.add_get("/showcase.atom", showcase_atom)


def _page_number(request: web.Request) -> int:
    """?page=N (1 when missing or not a sensible number)."""
    raw = request.query.get("page", "1")
    if not re.fullmatch(r"[0-9]{1,6}", raw) or int(raw) == 0:  # ("²".isdigit() is True)
        return 1
    return min(int(raw), MAX_PAGE)


def _cached(response: web.StreamResponse, *, by_language: bool) -> web.StreamResponse:
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = "nosniff"
    if by_language:
        response.headers["Vary"] = "Accept-Language"
    return response


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _person_line(network: NetworkConfig, person: ShowcasePerson, locale: str) -> str:
    if not person.location:
        return person.name
    return f"{person.name} ({network.place(person.location, locale)})"


async def _load(deps: Deps, page: int
                ) -> tuple[Page[ShowcaseMember], Page[ShowcaseCollaboration]]:
    async with deps.db.session() as session:
        service = ShowcaseService(session)
        return await service.members(page), await service.collaborations(page)


# -- HTML ------------------------------------------------------------------------------


async def showcase_page(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS]
    network = deps.config.network
    tr = translator_of(request)
    page = _page_number(request)
    members, collaborations = await _load(deps, page)

    def member_view(m: ShowcaseMember) -> dict[str, Any]:
        return {"name": m.name, "organisation": m.organisation,
                "location": network.place(m.location, tr.locale) if m.location else None,
                "offers": m.offers}

    def collaboration_view(c: ShowcaseCollaboration) -> dict[str, Any]:
        return {"id": c.id, "title": c.title,
                "status": status_label(tr, c.status),
                "iso": _iso(c.created_at),
                "date": format_date(c.created_at, format="long", locale=tr.locale),
                "members": [_person_line(network, p, tr.locale) for p in c.members]}

    more = (members.total > page * MEMBERS_PER_PAGE
            or collaborations.total > page * COLLABORATIONS_PER_PAGE)
    prefix = deps.config.command_prefix
    response = render(
        request, "showcase.html",
        members=[member_view(m) for m in members.items],
        collaborations=[collaboration_view(c) for c in collaborations.items],
        prev_url=str(request.rel_url.update_query(page=page - 1)) if page > 1 else None,
        next_url=str(request.rel_url.update_query(page=page + 1)) if more else None,
        join_command=f"{prefix}consent showcase on",
        leave_command=f"{prefix}consent showcase off")
    response.headers["Content-Security-Policy"] = CSP
    return _cached(response, by_language=True)


# -- JSON ------------------------------------------------------------------------------


def _location_json(deps: Deps, key: str | None) -> dict[str, Any] | None:
    if not key:
        return None
    spec = deps.config.network.location_by_key.get(key)
    if spec is None:
        return {"key": key, "name": key, "country": None}
    return {"key": key, "name": spec.name, "country": spec.country}


async def showcase_json(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS]
    page = _page_number(request)
    members, collaborations = await _load(deps, page)
    body = {
        "network": deps.config.network.name,
        "page": page,
        "more": (members.total > page * MEMBERS_PER_PAGE
                 or collaborations.total > page * COLLABORATIONS_PER_PAGE),
        "members": [
            {"name": m.name, "organisation": m.organisation,
             "location": _location_json(deps, m.location), "offers": m.offers}
            for m in members.items],
        "collaborations": [
            {"id": c.id, "title": c.title, "status": c.status,
             "created_at": _iso(c.created_at),
             "members": [{"name": p.name, "location": _location_json(deps, p.location)}
                         for p in c.members]}
            for c in collaborations.items],
    }
    response = web.json_response(body)
    response.headers["Access-Control-Allow-Origin"] = "*"  # public, read-only
    return _cached(response, by_language=False)


# -- Atom ------------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    return NOT_XML.sub("", text)


def _sub(parent: ET.Element, tag: str, text: str | None = None,
         **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = _xml_text(text)
    return element


def tag_authority(server_name: str) -> str:
    """A tag: URI's authority is a DNS name: the server name without a port."""
    return re.sub(r":\d+$", "", server_name)


def atom_feed(deps: Deps, items: list[ShowcaseCollaboration], tr: BoundTranslator) -> bytes:
    """An Atom 1.0 feed of showcase collaborations, newest first, as UTF-8 XML, in the
    language of `tr`."""
    network = deps.config.network
    authority = tag_authority(deps.config.matrix.server_name)
    base = deps.config.web.public_url or ""  # without one, links are relative to the feed
    # a plain "xmlns" attribute keeps ElementTree from inventing an "ns0:" prefix
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": tr.locale})
    _sub(feed, "id", f"tag:{authority},2026:showcase")
    _sub(feed, "title", tr(N_("%(network)s: new collaborations"), network=network.name))
    _sub(feed, "updated", _iso(items[0].created_at if items else deps.clock()))
    author = _sub(feed, "author")
    _sub(author, "name", network.name)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/showcase.atom")
    _sub(feed, "link", rel="alternate", type="text/html", href=f"{base}/showcase")
    for c in items:
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"tag:{authority},2026:collab-{c.id}")
        _sub(entry, "title", c.title, type="text")
        _sub(entry, "published", _iso(c.created_at))
        _sub(entry, "updated", _iso(c.created_at))
        _sub(entry, "link", rel="alternate", type="text/html",
             href=f"{base}/showcase#collab-{c.id}")
        members = ", ".join(_person_line(network, p, tr.locale) for p in c.members)
        _sub(entry, "summary", f"{tr(N_('Members:'))} {members}\n{tr(N_('Status:'))} "
                               f"{status_label(tr, c.status)}", type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


async def showcase_atom(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS]
    async with deps.db.session() as session:
        items = await ShowcaseService(session).feed()
    response = web.Response(body=atom_feed(deps, items, translator_of(request)),
                            content_type="application/atom+xml", charset="utf-8")
    return _cached(response, by_language=True)
