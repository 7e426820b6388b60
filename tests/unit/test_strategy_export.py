"""A strategy's document written out (Markdown, JSON, CSV, OpenDocument) and served at
/strategies/<id>[.json|.md|.csv|.odt]: structure, escaping of what members wrote, and the
key a private document needs (without it: the same 404 as an unknown id)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from jinja2.ext import babel_extract

from bot.deps import Deps
from bot.features.strategies import export
from bot.features.strategies import web as strategies_web
from bot.features.strategies.document import ProposalEntry, StrategyDocument
from bot.i18n import BoundTranslator, Translator
from bot.web.server import create_app

XSS = "<script>alert(1)</script>"
LINK = "[link](http://x)"
FORMULA = "=cmd()"
POLISH = "Więcej festiwali w Łodzi i Gdańsku: źródła, żywe"
LITHUANIAN = "Bendra kūrybinė erdvė Klaipėdoje ąčęėįšųūž"
KEY = "k3y-Of-The-Process"
TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE_NS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE_NS = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"

SZ, KL = ("szczecin", "Szczecin (PL)"), ("klaipeda", "Klaipėda (LT)")


def entry(number: int, section: str, where: tuple[str, str], text: str, *,
          status: str = "open", votes: dict[str, int] | None = None, endorsements: int = 0,
          amended: int = 0, reason: str | None = None,
          merged_into: int | None = None) -> ProposalEntry:
    votes = votes or {}
    return ProposalEntry(number=number, section=section, location=where[0], place=where[1],
                         text=text, amended=amended, endorsements=endorsements,
                         status=status, reason=reason, merged_into=merged_into,
                         votes=votes, votes_total=sum(votes.values()))


def make_doc(doc_id: int = 3, *, public: bool = True, phase: str = "result",
             title: str = "Strategia 2030–2040 <b>&</b>") -> StrategyDocument:
    """Two locations, three sections. Culture: an accepted proposal with markup and
    Polish, a merged one with a Markdown link and Lithuanian, the most voted one;
    education: a declined one that looks like a formula and an open one; economy: none."""
    return StrategyDocument(
        id=doc_id, title=title, phase=phase, public=public,
        created_at=datetime(2027, 1, 10, 9, 0, tzinfo=UTC),
        locations=[SZ, KL], sections=["culture", "education", "economy"],
        phase_ends={"vote": datetime(2027, 3, 1, tzinfo=ZoneInfo("Europe/Warsaw")),
                    "proposals": datetime(2027, 2, 1, 12, 0, tzinfo=UTC)},
        proposals=[
            entry(1, "culture", SZ, f"{POLISH} {XSS}\n- not a list\n\n# not a heading",
                  status="accepted", votes={"szczecin": 5, "klaipeda": 2}, endorsements=4,
                  amended=1),
            entry(2, "culture", KL, f"See {LINK} {LITHUANIAN}", status="merged",
                  merged_into=1, endorsements=2),
            entry(3, "culture", KL, LITHUANIAN, votes={"szczecin": 3, "klaipeda": 6},
                  endorsements=1),
            entry(1, "education", KL, FORMULA, status="declined", reason="Out of <scope>"),
            entry(2, "education", SZ, "+48 studios & schools", votes={"klaipeda": 2},
                  endorsements=3),
        ],
        voters={"szczecin": 6, "klaipeda": 8})


@pytest.fixture
def tr(translator: Translator) -> BoundTranslator:
    return translator.bind("en")


# -- Markdown ------------------------------------------------------------------------


def test_markdown_structure(tr: BoundTranslator) -> None:
    md = export.to_markdown(make_doc(), tr)
    headings = re.findall(r"^(#{1,6}) (.*)$", md, re.M)
    assert headings == [
        ("#", r"Strategia 2030–2040 \<b\>\&\</b\>"),
        ("##", "Culture"),
        ("###", r"Proposal \#1"), ("###", r"Proposal \#2"), ("###", r"Proposal \#3"),
        ("##", "Education"),
        ("###", r"Proposal \#1"), ("###", r"Proposal \#2"),
        ("##", "Economy"),
        ("##", "Results"),
        ("###", "Culture"), ("###", "Education"),
    ]
    assert "## Economy\n\nNo proposals in this section.\n" in md
    assert "- **Phase:** result" in md
    assert "- **Started:** 10 Jan 2027" in md
    assert "- **Proposals until:** 1 Feb 2027, 12:00 UTC" in md
    assert "- **Voting until:** 1 Mar 2027, 00:00 CET" in md
    assert "- **Members who voted:** Szczecin (PL) 6, Klaipėda (LT) 8" in md
    assert "- **Status:** merged into \\#1" in md
    assert "- **Reason:** Out of \\<scope\\>" in md
    assert "- **Votes:** Szczecin (PL) 5, Klaipėda (LT) 2; Total 7" in md
    # results: most votes first, votes by location
    culture = md.split("### Culture")[1].split("### Education")[0]
    rows = [line for line in culture.splitlines() if line.startswith("| \\#")]
    assert [r.split(" ")[1] for r in rows] == ["\\#3", "\\#1"]  # 9 votes before 7
    assert rows[0].endswith("| 3 | 6 | 9 |") and rows[1].endswith("| 5 | 2 | 7 |")
    assert "| Proposal | Szczecin (PL) | Klaipėda (LT) | Total |" in culture
    # declined and merged proposals were not voted on
    assert "\\#2" not in culture.split("|---")[1]


def test_markdown_escapes_what_members_wrote(tr: BoundTranslator) -> None:
    md = export.to_markdown(make_doc(), tr)
    assert XSS not in md and "<b>" not in md and "<scope>" not in md
    assert r"\<script\>alert(1)\</script\>" in md
    assert LINK not in md and "](" not in md.replace(r"\](", "")
    assert r"\[link\](http://x)" in md
    assert POLISH in md and LITHUANIAN in md
    # line starts cannot become a list, a heading or a setext underline
    assert "\\\n\\- not a list" in md
    assert "\n\\# not a heading\n" in md
    assert "\n\\=cmd()\n" in md
    assert export.md_block("1. one\n   2) two\n===\n    code") == (
        "1\\. one\\\n2\\) two\\\n\\===\\\ncode")
    assert export.md_inline("a | b `c` *d* _e_ ~f~ &amp; <x>") == (
        r"a \| b \`c\` \*d\* \_e\_ \~f\~ \&amp; \<x\>")


def test_markdown_before_the_vote_shows_no_votes(tr: BoundTranslator) -> None:
    doc = make_doc(phase="discussion")
    doc = dataclasses.replace(doc, voters={}, proposals=[
        dataclasses.replace(p, votes={}, votes_total=0) for p in doc.proposals])
    md = export.to_markdown(doc, tr)
    assert "Votes:" not in md and "## Results" not in md
    md = export.to_markdown(make_doc(phase="vote"), tr)
    assert "## Votes so far" in md


# -- JSON ----------------------------------------------------------------------------


def test_json_round_trips_with_votes_by_location() -> None:
    doc = make_doc()
    data = export.to_json(doc)
    assert json.loads(json.dumps(data)) == data
    assert export.from_json(json.loads(json.dumps(data))) == doc
    assert data["sections"] == ["culture", "education", "economy"]
    assert list(data) == ["version", "id", "title", "phase", "public", "created_at",
                          "phase_ends", "locations", "sections", "voters", "proposals"]
    assert data["created_at"] == "2027-01-10T09:00:00+00:00"
    assert data["phase_ends"] == {"proposals": "2027-02-01T12:00:00+00:00",
                                  "vote": "2027-03-01T00:00:00+01:00"}
    first = data["proposals"][0]
    assert first["votes"] == {"szczecin": 5, "klaipeda": 2} and first["votes_total"] == 7
    assert first["status"] == "accepted" and first["text"].startswith(POLISH)
    assert data["proposals"][1]["merged_into"] == 1
    assert data["voters"] == {"szczecin": 6, "klaipeda": 8}


def test_json_drops_what_no_format_carries() -> None:
    doc = make_doc(title="Bad\x00 \ud800title\r\nnext")
    assert export.to_json(doc)["title"] == "Bad title\nnext"
    json.dumps(export.to_json(doc), ensure_ascii=False).encode("utf-8")  # no surrogate


# -- CSV -----------------------------------------------------------------------------


def test_csv_rows_by_proposal_and_location() -> None:
    rows = list(csv.reader(io.StringIO(export.to_csv(make_doc()))))
    assert rows[0] == ["id", "section", "number", "origin", "status", "endorsements",
                       "location", "votes", "text"]
    body = rows[1:]
    assert len(body) == 5 * 3  # two locations and a total per proposal
    first = body[:3]
    assert [r[:8] for r in first] == [
        ["3", "culture", "1", "szczecin", "accepted", "4", "szczecin", "5"],
        ["3", "culture", "1", "szczecin", "accepted", "4", "klaipeda", "2"],
        ["3", "culture", "1", "szczecin", "accepted", "4", "", "7"],
    ]
    assert first[0][8] == f"{POLISH} {XSS}\n- not a list\n\n# not a heading"
    assert any(LITHUANIAN in r[8] for r in body)


def test_csv_neutralises_formulas() -> None:
    rows = list(csv.reader(io.StringIO(export.to_csv(make_doc()))))
    texts = {(r[1], r[2]): r[8] for r in rows[1:]}
    assert texts[("education", "1")] == "'" + FORMULA
    assert texts[("education", "2")] == "'+48 studios & schools"
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), row
    assert export.csv_cell("@SUM(1)") == "'@SUM(1)"
    assert export.csv_cell("-2") == "'-2" and export.csv_cell("a=b") == "a=b"


# -- OpenDocument --------------------------------------------------------------------


def odt_content(data: bytes) -> ET.Element:
    with zipfile.ZipFile(BytesIO(data)) as z:
        assert z.testzip() is None
        first = z.infolist()[0]
        assert first.filename == "mimetype"
        assert first.compress_type == zipfile.ZIP_STORED
        assert z.read("mimetype") == b"application/vnd.oasis.opendocument.text"
        manifest = z.read("META-INF/manifest.xml").decode()
        assert "content.xml" in manifest and "styles.xml" in manifest
        ET.fromstring(z.read("styles.xml"))
        return ET.fromstring(z.read("content.xml"))


def test_odt_is_an_editable_text_document(tr: BoundTranslator) -> None:
    doc = make_doc()
    content = odt_content(export.to_odt(doc, tr))
    headings = [("".join(h.itertext()), h.get(f"{TEXT_NS}outline-level"))
                for h in content.iter(f"{TEXT_NS}h")]
    assert headings == [
        (doc.title, "1"),
        ("Culture", "2"), ("Proposal #1", "3"), ("Proposal #2", "3"), ("Proposal #3", "3"),
        ("Education", "2"), ("Proposal #1", "3"), ("Proposal #2", "3"),
        ("Economy", "2"),
        ("Results", "2"), ("Culture", "3"), ("Education", "3"),
    ]
    paragraphs = ["".join(p.itertext()) for p in content.iter(f"{TEXT_NS}p")]
    # the text as written, escaped as XML (the parser gives it back), its line break kept
    assert f"{POLISH} {XSS}- not a list" in paragraphs
    assert "# not a heading" in paragraphs
    assert f"See {LINK} {LITHUANIAN}" in paragraphs
    assert FORMULA in paragraphs and "Out of <scope>" not in paragraphs
    assert "Reason: Out of <scope>" in paragraphs
    assert "Phase: result" in paragraphs and "Status: merged into #1" in paragraphs
    assert "Endorsements: 4" in paragraphs and "Proposed in: Klaipėda (LT)" in paragraphs
    assert "Voting until: 1 Mar 2027, 00:00 CET" in paragraphs
    first_text = next(p for p in content.iter(f"{TEXT_NS}p")
                      if "".join(p.itertext()).startswith(POLISH))
    assert first_text.find(f"{TEXT_NS}line-break") is not None

    tables = list(content.iter(f"{TABLE_NS}table"))
    names = [t.get(f"{TABLE_NS}name") for t in tables]
    assert len(names) == len(set(names)) == 3 + 2  # voted-on proposals, then results

    def cells(table: ET.Element) -> list[list[str]]:
        return [["".join(c.itertext()) for c in row.iter(f"{TABLE_NS}table-cell")]
                for row in table.iter(f"{TABLE_NS}table-row")]

    assert cells(tables[0]) == [["Location", "Votes"], ["Szczecin (PL)", "5"],
                                ["Klaipėda (LT)", "2"], ["Total", "7"]]
    numbers = [c.get(f"{OFFICE_NS}value") for c in tables[0].iter(f"{TABLE_NS}table-cell")
               if c.get(f"{OFFICE_NS}value-type") == "float"]
    assert numbers == ["5", "2", "7"]
    culture_results = cells(tables[3])
    assert culture_results[0] == ["Proposal", "Szczecin (PL)", "Klaipėda (LT)", "Total"]
    assert [r[0].split(" ")[0] for r in culture_results[1:]] == ["#3", "#1"]
    assert [r[1:] for r in culture_results[1:]] == [["3", "6", "9"], ["5", "2", "7"]]


def test_odt_survives_characters_xml_cannot_carry(tr: BoundTranslator) -> None:
    doc = make_doc(title="Zła\x0b nazwa \ud800 & ]]> <x>")
    content = odt_content(export.to_odt(doc, tr))
    title = next(content.iter(f"{TEXT_NS}h"))
    assert "".join(title.itertext()) == "Zła nazwa & ]]> <x>"


# -- the web routes ------------------------------------------------------------------


class Store:
    """The documents the routes serve, and what the routes asked for."""

    def __init__(self) -> None:
        self.docs = {3: make_doc(3), 4: make_doc(4, public=False, title="Private plan")}
        self.keys = {3: "public-key-unused", 4: KEY}
        self.calls: list[tuple[str, int]] = []

    async def load(self, doc_id: int) -> StrategyDocument | None:
        self.calls.append(("load", doc_id))
        return self.docs.get(doc_id)

    async def key_of(self, doc_id: int) -> str | None:
        self.calls.append(("key_of", doc_id))
        return self.keys.get(doc_id)


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
async def client(deps: Deps, store: Store) -> AsyncIterator[TestClient]:
    app = create_app(deps, routes=[strategies_web.routes(store.load, store.key_of)],
                     template_packages=["bot.features.strategies"])
    async with TestClient(TestServer(app)) as c:
        yield c


class WellFormed(HTMLParser):
    """Every element closed in order (HTML's void elements need no end tag)."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ARG002
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (tag, self.open)
        self.open.pop()


def assert_well_formed(html: str) -> None:
    parser = WellFormed()
    parser.feed(html)
    parser.close()
    assert parser.open == []


async def test_public_document_is_served_without_key(client: TestClient) -> None:
    response = await client.get("/strategies/3")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "Referrer-Policy" not in response.headers
    html = await response.text()
    assert_well_formed(html)
    assert '<html lang="en">' in html
    assert XSS not in html and "<b>&</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Strategia 2030–2040 &lt;b&gt;&amp;&lt;/b&gt;" in html
    assert POLISH in html and LITHUANIAN in html
    for kind in ("odt", "md", "csv", "json"):
        assert f'href="3.{kind}?lang=en"' in html  # no key: it needs none
    assert "Proposal #3" in html and "Votes by location" in html
    assert "<h2 id=\"section-3\">Economy</h2>\n<p>No proposals in this section.</p>" in html
    assert '<a href="#s1-p3">#3</a>' in html  # results link to their proposal


async def test_formats_have_their_content_types(client: TestClient) -> None:
    response = await client.get("/strategies/3.md")
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert (await response.text()).startswith("# Strategia")
    response = await client.get("/strategies/3.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="strategy-3.csv"'
    assert (await response.text()).startswith("id,section,number")
    response = await client.get("/strategies/3.json")
    assert response.content_type == "application/json"
    assert (await response.json())["proposals"][0]["votes"] == {"szczecin": 5, "klaipeda": 2}
    response = await client.get("/strategies/3.odt")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/vnd.oasis.opendocument.text"
    assert response.headers["Content-Disposition"] == 'attachment; filename="strategy-3.odt"'
    odt_content(await response.read())


async def test_private_document_needs_its_key(client: TestClient, store: Store) -> None:
    def without_path(body: str) -> str:  # the language links name the page asked for
        return re.sub(r"/strategies/[^?\"]*", "/strategies/…", body)

    def headers(response: ClientResponse) -> dict[str, str]:
        return {k: v for k, v in response.headers.items()
                if k not in ("Date", "Content-Length")}

    unknown = await client.get("/strategies/99")
    assert unknown.status == 404
    unknown_body = without_path(await unknown.text())
    assert "Strategy not found" in unknown_body
    for url in ("/strategies/4", "/strategies/4?k=", "/strategies/4?k=wrong",
                f"/strategies/4?k={KEY}x", f"/strategies/4?k={KEY[:-1]}",
                "/strategies/4.odt", "/strategies/4.json?k=nope", "/strategies/4.csv"):
        response = await client.get(url)
        assert response.status == 404, url
        # nothing tells them apart
        assert without_path(await response.text()) == unknown_body, url
        assert headers(response) == headers(unknown), url
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    response = await client.get(f"/strategies/4?k={KEY}")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    html = await response.text()
    assert "Private plan" in html
    assert f'href="4.odt?lang=en&amp;k={KEY}"' in html
    for kind in ("md", "csv", "json", "odt"):
        response = await client.get(f"/strategies/4.{kind}?k={KEY}&lang=en")
        assert response.status == 200, kind
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert (await client.get(f"/strategies/4.json?k={KEY}")).headers.get(
        "Access-Control-Allow-Origin") is None

    # an unknown id and a private one with a wrong key cost the same calls
    store.calls.clear()
    await client.get("/strategies/99?k=wrong")
    await client.get("/strategies/4?k=wrong")
    assert store.calls == [("key_of", 99), ("load", 99), ("key_of", 4), ("load", 4)]


@pytest.mark.parametrize("name", ["abc", "0", "03", "-3", "3.5", "3.pdf", "3.", "3.json.md",
                                  "99999999999", "2147483648", "٣", "3%20"])
async def test_malformed_ids_are_not_found(client: TestClient, store: Store,
                                           name: str) -> None:
    response = await client.get(f"/strategies/{name}")
    assert response.status == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert store.calls == []  # never reaches the loader


async def test_language_from_query_or_header(client: TestClient) -> None:
    response = await client.get("/strategies/3?lang=pl")
    html = await response.text()
    assert response.status == 200
    assert '<html lang="pl">' in html and response.headers["Content-Language"] == "pl"
    assert_well_formed(html)
    assert 'href="3.odt?lang=pl"' in html
    response = await client.get("/strategies/3", headers={"Accept-Language": "lt,en;q=0.5"})
    assert '<html lang="lt">' in await response.text()
    assert response.headers["Vary"] == "Accept-Language"
    missing = await client.get("/strategies/99?lang=de")
    assert '<html lang="de">' in await missing.text()


def test_key_matches() -> None:
    assert strategies_web.key_matches(KEY, KEY)
    assert not strategies_web.key_matches(KEY, None)
    assert not strategies_web.key_matches("", "")
    assert not strategies_web.key_matches("ключ", KEY)
    assert not strategies_web.key_matches("\ud800", KEY)


def test_template_strings_are_listed_for_extraction() -> None:
    """Jinja templates are not extracted by babel.cfg: TEMPLATE_STRINGS must list them."""
    found = set()
    for name in ("strategy.html", "strategy_missing.html"):
        source = Path(strategies_web.__file__).parent / "templates" / name
        for _line, _func, message, _comments in babel_extract(
                BytesIO(source.read_bytes()), ("_",), [], {}):
            found.add(message[0] if isinstance(message, tuple) else message)
    assert found == set(strategies_web.TEMPLATE_STRINGS)
