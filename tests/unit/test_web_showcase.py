"""The public showcase: !consent through the real dispatcher, and GET /showcase (HTML),
/showcase.json and /showcase.atom through aiohttp, on every test database. Nothing of a
member who did not opt in may appear anywhere."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from jinja2.ext import babel_extract
from sqlalchemy import select, update

from bot.db.models import Collaboration, Member, RoomMembership
from bot.deps import Deps
from bot.features.showcase import service as showcase_service
from bot.features.showcase import web as showcase_web
from bot.features.showcase.consent import ConsentService
from bot.features.showcase.service import ShowcaseService, public_name
from bot.i18n import Translator
from bot.members import MemberService
from tests.conftest import Clock, network, web_app
from tests.fakes import Driver

ROOMS = {"space": "!space", "location:szczecin": "!szn", "location:rostock": "!ros"}
PUBLIC_URL = "https://sbcc.example"
ATOM = "{http://www.w3.org/2005/Atom}"

ALA, BOB, CAT, HIDDEN = "@ala:test", "@bob:test", "@cat:test", "@hidden-person:test"
# what must never appear anywhere: the non-consenting member and their collaborations
SECRETS = ("Hidden Person", "hidden-person", "Secret Org", "espionage", "Secret plan",
           "Unknown partner", "nowhere")
XSS = "<script>alert(1)</script>"
TRICKY_TITLE = 'Sound & <Vision> "live"'


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    """The shared `dispatcher` and `driver` fixtures build on this one."""
    return await make_deps(rooms=ROOMS, network=network("szczecin", "rostock"),
                           web={"public_url": PUBLIC_URL})


def make_app(deps: Deps) -> web.Application:
    """The HTTP side as the App builds it."""
    return web_app(deps)


@pytest.fixture
async def client(deps: Deps) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(make_app(deps))) as c:
        yield c


async def one(driver: Driver, body: str, sender: str = ALA) -> str:
    [out] = await driver.send(body, sender=sender)
    return out.body


async def add(driver: Driver, body: str, sender: str = ALA) -> int:
    """`!collab add …`: the new collaboration's number (a reply, a request, its ✅)."""
    reply, _request, _offered = await driver.send(body, sender=sender)
    return int(re.search(r"#(\d+)", reply.body)[1])


@pytest.fixture(autouse=True)
async def network_members(deps: Deps, clock: Clock) -> None:
    """Everyone here is a member of the network (in the Szczecin room)."""
    async with deps.db.session() as s:
        s.add_all(RoomMembership(room_id="!szn", mxid=mxid, since=clock(), imported=True)
                  for mxid in (ALA, BOB, CAT, HIDDEN))


async def set_display_name(deps: Deps, mxid: str, name: str) -> None:
    async with deps.db.session() as s:
        await s.execute(update(Member).where(Member.mxid == mxid).values(display_name=name))


async def consent_of(deps: Deps, mxid: str) -> bool | None:
    async with deps.db.session() as s:
        member = await s.get(Member, mxid)
        return None if member is None else member.showcase


@pytest.fixture
async def people(driver: Driver, deps: Deps, clock: Clock) -> dict[str, int]:
    """Ala (Szczecin), Bob (Rostock, an organisation with markup) and cat (no display name)
    opted in; Hidden Person did not. Collaborations, each confirmed by everyone the bot
    knows in it: Ala+Bob (shown), Ala+Hidden (not), and Ala+Bob+someone the bot never met
    (not). Returns collaboration ids by name."""
    for sender, org, where, offers in (
            (ALA, "Studio Nord", "szczecin", "video, 3d animation"),
            (BOB, XSS, "rostock", "sound"),
            (CAT, "Cat & Co", "szczecin", "games"),
            (HIDDEN, "Secret Org", "rostock", "espionage")):
        assert "is now" in await one(driver, f"!set org {org}", sender)
        assert "is now" in await one(driver, f"!set location {where}", sender)
        assert "Added" in await one(driver, f"!offer {offers}", sender)
    await set_display_name(deps, ALA, "Ala Nowak")
    await set_display_name(deps, BOB, "Bob Berg")
    await set_display_name(deps, HIDDEN, "Hidden Person")
    for sender in (ALA, BOB, CAT):
        assert "You are now in the public showcase" in await one(
            driver, "!consent showcase on", sender)
    ids = {}
    for name, body in (("shown", f"!collab add {TRICKY_TITLE} with {BOB}"),
                       ("hidden", f"!collab add Secret plan with {HIDDEN}"),
                       ("unknown", f"!collab add Unknown partner with {BOB} @nowhere:test")):
        clock.now += timedelta(hours=1)
        ids[name] = await add(driver, body)
    for name, sender in (("shown", BOB), ("hidden", HIDDEN), ("unknown", BOB)):
        assert "You confirmed" in await one(driver, f"!collab confirm {ids[name]}", sender)
    return ids


# -- !consent --------------------------------------------------------------------------


async def test_consent_is_off_by_default_and_switches(driver: Driver, deps: Deps) -> None:
    body = await one(driver, "!consent")
    assert body.startswith("You do not appear in the public showcase")
    assert "organisation" in body and "!consent showcase on|off" in body
    assert await consent_of(deps, ALA) is False  # the dispatcher met them: off by default

    body = await one(driver, "!consent showcase on")
    assert body.startswith("You are now in the public showcase.")
    for what in ("name", "organisation", "location", "what you offer",
                 "collaborations in which every member agreed"):
        assert what in body
    assert "!consent showcase off" in body
    assert f"{PUBLIC_URL}/showcase" in body
    assert await consent_of(deps, ALA) is True
    assert (await one(driver, "!consent")).startswith("You appear in the public showcase.")
    assert (await one(driver, "!consent showcase")).startswith("You appear")

    body = await one(driver, "!consent showcase no")
    assert body.startswith("You have left the public showcase")
    assert "!consent showcase on" in body
    assert await consent_of(deps, ALA) is False


async def test_consent_rejects_what_it_does_not_know(driver: Driver, deps: Deps) -> None:
    assert "neither on nor off" in await one(driver, "!consent showcase maybe")
    assert "not something you can consent to" in await one(driver, "!consent photos on")
    assert await consent_of(deps, ALA) is False


async def test_consent_is_a_group_with_a_showcase_subcommand(driver: Driver) -> None:
    body = await one(driver, "!help consent")
    assert "!consent [topic] [choice]" in body
    assert "!consent showcase [on|off] — Appear in the public showcase (on) or leave it " \
           "(off)." in body
    assert "not something you can consent to" in await one(driver, "!consent photos")
    assert "Too many arguments: off" in await one(driver, "!consent showcase on off")


async def test_consent_service(deps: Deps) -> None:
    async with deps.db.session() as s:
        consent = ConsentService(MemberService(s, deps.clock))
        assert await consent.showcase("@new:test") is False  # never met: not shown
        await consent.set_showcase("@new:test", True)
        assert await consent.showcase("@new:test") is True
    assert await consent_of(deps, "@new:test") is True
    async with deps.db.session() as s:
        await ConsentService(MemberService(s, deps.clock)).set_showcase("@new:test", False)
    assert await consent_of(deps, "@new:test") is False


# -- what is shown ---------------------------------------------------------------------


async def fetch_all(client: TestClient, query: str = "") -> tuple[str, str, str]:
    html = await client.get(f"/showcase{query}")
    data = await client.get(f"/showcase.json{query}")
    atom = await client.get(f"/showcase.atom{query}")
    for response in (html, data, atom):
        assert response.status == 200
        assert response.headers["Cache-Control"] == "public, max-age=300"
    return await html.text(), await data.text(), await atom.text()


def assert_no_secrets(*documents: str) -> None:
    for document in documents:
        for secret in SECRETS:
            assert secret.casefold() not in document.casefold(), secret


async def test_html_lists_only_members_who_opted_in(client: TestClient,
                                                    people: dict[str, int]) -> None:
    response = await client.get("/showcase")
    assert response.content_type == "text/html"
    assert response.headers["Vary"] == "Accept-Language"
    html = await response.text()
    assert '<html lang="en">' in html
    assert "<h3>Ala Nowak</h3>" in html and "<dd>Studio Nord</dd>" in html
    assert "<dd>Szczecin, Poland</dd>" in html and "<dd>3d animation, video</dd>" in html
    assert "<h3>Bob Berg</h3>" in html and "<dd>Rostock, Germany</dd>" in html
    assert "<h3>cat</h3>" in html and "<dd>Cat &amp; Co</dd>" in html  # the localpart
    assert "@ala:test" not in html and "@cat:test" not in html  # never full Matrix IDs
    assert html.index("Ala Nowak") < html.index("Bob Berg") < html.index("<h3>cat</h3>")
    assert_no_secrets(html)


async def test_html_escapes_what_members_typed(client: TestClient,
                                               people: dict[str, int]) -> None:
    html = await (await client.get("/showcase")).text()
    assert "<dd>&lt;script&gt;alert(1)&lt;/script&gt;</dd>" in html
    assert "<script" not in html
    assert "<h3>Sound &amp; &lt;Vision&gt; &#34;live&#34;</h3>" in html


async def test_only_collaborations_of_consenting_members(client: TestClient,
                                                         people: dict[str, int]) -> None:
    html, data, atom = await fetch_all(client)
    shown = people["shown"]
    assert f'<li id="collab-{shown}">' in html
    assert "<li>Ala Nowak (Szczecin, Poland)</li>" in html
    assert "<li>Bob Berg (Rostock, Germany)</li>" in html
    assert "<dd>planned</dd>" in html and 'datetime="2026-11-27T13:00:00+00:00"' in html
    assert [c["id"] for c in json.loads(data)["collaborations"]] == [shown]
    assert_no_secrets(html, data, atom)


async def test_json_shape(client: TestClient, people: dict[str, int]) -> None:
    response = await client.get("/showcase.json")
    assert response.content_type == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    szczecin = {"key": "szczecin", "name": "Szczecin", "country": "PL"}
    rostock = {"key": "rostock", "name": "Rostock", "country": "DE"}
    assert await response.json() == {
        "network": "South Baltic Creative Clusters",
        "page": 1,
        "more": False,
        "members": [
            {"name": "Ala Nowak", "organisation": "Studio Nord", "location": szczecin,
             "offers": ["3d animation", "video"]},
            {"name": "Bob Berg", "organisation": XSS, "location": rostock,
             "offers": ["sound"]},
            {"name": "cat", "organisation": "Cat & Co", "location": szczecin,
             "offers": ["games"]},
        ],
        "collaborations": [
            {"id": people["shown"], "title": TRICKY_TITLE, "status": "planned",
             "created_at": "2026-11-27T13:00:00+00:00",
             "members": [{"name": "Ala Nowak", "location": szczecin},
                         {"name": "Bob Berg", "location": rostock}]},
        ],
    }


async def test_atom_feed(client: TestClient, driver: Driver, clock: Clock,
                         people: dict[str, int]) -> None:
    clock.now += timedelta(hours=1)
    newer = await add(driver, f"!collab add Cats & dogs with {CAT}", sender=BOB)
    await one(driver, f"!collab confirm {newer}", sender=CAT)

    response = await client.get("/showcase.atom")
    assert response.content_type == "application/atom+xml"
    assert response.charset == "utf-8"
    text = await response.text()
    assert_no_secrets(text)
    feed = ET.fromstring(await response.read())
    assert feed.tag == f"{ATOM}feed"
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert feed.findtext(f"{ATOM}id") == "tag:test,2026:showcase"
    assert feed.findtext(f"{ATOM}updated") == "2026-11-27T16:00:00+00:00"
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == "South Baltic Creative Clusters"
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {"self": f"{PUBLIC_URL}/showcase.atom",
                     "alternate": f"{PUBLIC_URL}/showcase"}
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"tag:test,2026:collab-{newer}", f"tag:test,2026:collab-{people['shown']}"]
    first, second = entries
    assert first.findtext(f"{ATOM}title") == "Cats & dogs"
    assert second.findtext(f"{ATOM}title") == TRICKY_TITLE
    assert second.findtext(f"{ATOM}updated") == "2026-11-27T13:00:00+00:00"
    assert second.findtext(f"{ATOM}summary") == (
        "Members: Ala Nowak (Szczecin, Poland), Bob Berg (Rostock, Germany)\n"
        "Status: planned")
    assert second.find(f"{ATOM}link").get("href") == (
        f"{PUBLIC_URL}/showcase#collab-{people['shown']}")


async def test_atom_feed_in_the_translators_language(deps: Deps, translator: Translator,
                                                     people: dict[str, int]) -> None:
    async with deps.db.session() as s:
        items = await ShowcaseService(s).feed()
    feed = ET.fromstring(showcase_web.atom_feed(deps, items, translator.bind("pl")))
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "pl"
    summary = feed.find(f"{ATOM}entry").findtext(f"{ATOM}summary")
    assert "Ala Nowak (Szczecin, Polska), Bob Berg (Rostock, Niemcy)" in summary


async def test_atom_is_valid_xml_with_control_characters(deps: Deps, client: TestClient,
                                                         people: dict[str, int]) -> None:
    await set_display_name(deps, ALA, "Ala\x01 Nowak\x1b")
    feed = ET.fromstring(await (await client.get("/showcase.atom")).read())
    assert "Ala Nowak (Szczecin" in feed.find(f"{ATOM}entry").findtext(f"{ATOM}summary")


async def test_atom_without_public_url_links_relatively(deps: Deps, client: TestClient,
                                                        people: dict[str, int]) -> None:
    deps.config = dataclasses.replace(
        deps.config, web=dataclasses.replace(deps.config.web, public_url=None))
    feed = ET.fromstring(await (await client.get("/showcase.atom")).read())
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}link").get("href") == f"/showcase#collab-{people['shown']}"


async def test_withdrawing_removes_member_and_collaborations(
        client: TestClient, driver: Driver, people: dict[str, int]) -> None:
    assert "left the public showcase" in await one(driver, "!consent showcase off")
    html, data, atom = await fetch_all(client)
    for document in (html, data, atom):
        assert "Ala Nowak" not in document and "Studio Nord" not in document
        assert "Sound &" not in document and "Vision" not in document
    assert "Bob Berg" in html and "Bob Berg" in data
    assert json.loads(data)["collaborations"] == []
    assert ET.fromstring(atom.encode()).findall(f"{ATOM}entry") == []
    assert "No collaboration is shown here yet" in html


async def test_nobody_is_published_before_confirming(client: TestClient, driver: Driver,
                                                     clock: Clock,
                                                     people: dict[str, int]) -> None:
    """@cat opted in to the showcase, but was never asked about this title: until they
    confirm it, neither the page, the JSON nor the feed has it (nor their name with it)."""
    clock.now += timedelta(hours=1)
    victim = await add(driver, f"!collab add Cat's embarrassing secret with {CAT}", sender=BOB)
    html, data, atom = await fetch_all(client)
    for document in (html, data, atom):
        assert "embarrassing" not in document
    assert [c["id"] for c in json.loads(data)["collaborations"]] == [people["shown"]]
    assert await one(driver, f"!collab confirm {victim}", CAT)
    html, data, atom = await fetch_all(client)
    assert [c["id"] for c in json.loads(data)["collaborations"]] == [victim, people["shown"]]
    assert "embarrassing" in html and "embarrassing" in atom


async def test_leaving_takes_a_member_off_a_shown_collaboration(
        client: TestClient, driver: Driver, people: dict[str, int]) -> None:
    shown = people["shown"]
    await one(driver, f"!collab leave {shown}", BOB)
    data = json.loads(await (await client.get("/showcase.json")).text())
    [collab] = data["collaborations"]
    assert collab["id"] == shown and [m["name"] for m in collab["members"]] == ["Ala Nowak"]


async def test_forgetting_takes_the_member_and_their_collaborations_off(
        client: TestClient, driver: Driver, people: dict[str, int]) -> None:
    await driver.send("!forget-me confirm", sender=BOB)
    html, data, atom = await fetch_all(client)
    for document in (html, data, atom):
        assert "Bob Berg" not in document and "former" not in document.casefold()
        assert "Vision" not in document  # Ala+Bob's collaboration: its member left no consent
    assert json.loads(data)["collaborations"] == []
    assert [m["name"] for m in json.loads(data)["members"]] == ["Ala Nowak", "cat"]


async def test_empty_showcase(client: TestClient, driver: Driver) -> None:
    await one(driver, "!set org Studio Nord")  # known, but not opted in
    html, data, atom = await fetch_all(client)
    assert "Nobody is shown here yet." in html
    assert "No collaboration is shown here yet" in html
    assert "Studio Nord" not in html + data + atom
    assert json.loads(data)["members"] == []
    feed = ET.fromstring(atom.encode())
    assert feed.findall(f"{ATOM}entry") == []
    assert feed.findtext(f"{ATOM}updated") == "2026-11-27T12:00:00+00:00"


# -- languages -------------------------------------------------------------------------


async def test_language_from_the_query(client: TestClient, people: dict[str, int]) -> None:
    html = await (await client.get("/showcase?lang=pl",
                                   headers={"Accept-Language": "de"})).text()
    assert '<html lang="pl">' in html
    assert "<dt>Oferta:</dt>" in html and "<dd>Szczecin, Polska</dd>" in html
    assert "<li>Bob Berg (Rostock, Niemcy)</li>" in html


async def test_language_from_accept_language(client: TestClient,
                                             people: dict[str, int]) -> None:
    headers = {"Accept-Language": "fr;q=1, de-DE;q=0.9, en;q=0.5"}
    html = await (await client.get("/showcase", headers=headers)).text()
    assert '<html lang="de">' in html
    assert "<dt>Bietet:</dt>" in html and "<dd>Szczecin, Polen</dd>" in html
    feed = ET.fromstring(await (await client.get("/showcase.atom", headers=headers)).read())
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "de"
    summary = feed.find(f"{ATOM}entry").findtext(f"{ATOM}summary")
    assert summary.startswith("Beteiligte: Ala Nowak (Szczecin, Polen)")


# -- paging, the service, the template's strings ----------------------------------------


async def test_pages(client: TestClient, people: dict[str, int],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(showcase_service, "MEMBERS_PER_PAGE", 2)
    monkeypatch.setattr(showcase_web, "MEMBERS_PER_PAGE", 2)
    first = await (await client.get("/showcase?lang=en")).text()
    assert "Ala Nowak" in first and "Bob Berg" in first and "<h3>cat</h3>" not in first
    assert 'href="/showcase?lang=en&amp;page=2" rel="next"' in first
    second = await (await client.get("/showcase?lang=en&page=2")).text()
    assert "<h3>cat</h3>" in second and "Ala Nowak" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    data = await (await client.get("/showcase.json?page=2")).json()
    assert ([m["name"] for m in data["members"]], data["page"], data["more"]) == (
        ["cat"], 2, False)
    assert (await (await client.get("/showcase.json?page=x")).json())["page"] == 1


async def test_service_counts_a_member_without_a_row_as_refusing(
        deps: Deps, people: dict[str, int]) -> None:
    async with deps.db.session() as s:
        service = ShowcaseService(s)
        page = await service.collaborations()
        assert ([c.id for c in page.items], page.total) == ([people["shown"]], 1)
        # a collaboration without members is not shown either
        s.add(Collaboration(title="Empty", status="planned", origin="direct",
                            created_by=ALA, created_at=deps.clock()))
        await s.flush()
        assert (await service.collaborations()).total == 1
        titles = await s.scalars(select(Collaboration.title))
        assert "Empty" in set(titles)


def test_public_name() -> None:
    assert public_name("@ala:test", "  Ala   Nowak ") == "Ala Nowak"
    assert public_name("@ala.b:example.org", None) == "ala.b"
    assert public_name("@ala:example.org", " ") == "ala"


def test_template_strings_are_listed_for_extraction() -> None:
    """Jinja templates are not extracted by babel.cfg: TEMPLATE_STRINGS must list them."""
    source = Path(showcase_web.__file__).parent / "templates" / "showcase.html"
    found = set()
    for _line, _func, message, _comments in babel_extract(
            BytesIO(source.read_bytes()), ("_",), [], {}):
        found.add(message[0] if isinstance(message, tuple) else message)
    assert found == set(showcase_web.TEMPLATE_STRINGS)
