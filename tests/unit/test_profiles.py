"""Profiles: tag normalisation and limits (pure), and !profile, !set, !offer, !need through
the real dispatcher, on every test database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import parse_config
from bot.config import Config
from bot.db.models import IntroCard, Member, MemberTag, RoomMembership
from bot.deps import Deps
from bot.errors import BadArgument, UsageError, UserError
from bot.features.profiles.introductions import Introductions
from bot.features.profiles.messages import profile_card
from bot.features.profiles.service import (
    MAX_TAGS_PER_KIND,
    ProfileService,
    normalise_tag,
    parse_languages,
    parse_tags,
    parse_timezone,
    removal_tags,
    stored_languages,
)
from bot.i18n import Translator
from tests.conftest import base_config, network, room_id
from tests.fakes import Driver
from tests.statements import recorded

NETWORK = network("szczecin", "rostock", topics=("design",))


@pytest.fixture
def network_config() -> Config:
    return parse_config(base_config(network=NETWORK), environ={})


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    """The shared `dispatcher` and `driver` fixtures use this one: a config with locations
    (and a topic), their rooms provisioned."""
    return await make_deps(network=NETWORK)


async def stored(deps: Deps, mxid: str = "@ala:test") -> tuple[Member | None, list[str],
                                                                list[str]]:
    async with deps.db.session() as s:
        service = ProfileService(s, deps.clock)
        member = await service.members.get(mxid)
        return member, await service.tags(mxid, "offer"), await service.tags(mxid, "need")


async def one(driver: Driver, body: str, **kwargs: str) -> str:
    [out] = await driver.send(body, **kwargs)
    return out.body


async def joined(deps: Deps, *mxids: str, room: str = "location:szczecin") -> None:
    """Make `mxids` members of the network: in one of its rooms now."""
    async with deps.db.session() as s:
        s.add_all(RoomMembership(room_id=room_id(room), mxid=mxid, since=deps.clock(),
                                 imported=False) for mxid in mxids)


# -- pure: tags ------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("video", "video"),
    ("  #3D   Animation ", "3d animation"),
    ("3D\tanimation", "3d animation"),
    ("##Photo", "photo"),
    ("Ścieżka Dźwiękowa", "ścieżka dźwiękowa"),
    ("Straße", "strasse"),
    ("ＶＩＤＥＯ", "video"),  # full-width letters
    ("R&D", "r&d"),
    ("C++", "c++"),
    ("UX/UI", "ux/ui"),
    ("Web 2.0", "web 2.0"),
    ("e-commerce", "e-commerce"),
    ("a" * 32, "a" * 32),
])
def test_normalise_tag(raw: str, expected: str) -> None:
    assert normalise_tag(raw) == expected


@pytest.mark.parametrize(("raw", "param"), [
    ("", {"tag": ""}),
    ("#", {"tag": "#"}),
    ("  --- ", {"tag": "---"}),
    ("a" * 33, {"tag": "a" * 33, "max": 32}),
    ("video!", {"tag": "video!", "char": "!"}),
    ("<script>", {"tag": "<script>", "char": "<"}),
    ("snake_case", {"tag": "snake_case", "char": "_"}),
])
def test_normalise_tag_rejects_naming_the_tag(raw: str, param: dict) -> None:
    with pytest.raises(BadArgument) as err:
        normalise_tag(raw)
    assert err.value.params == param


def test_error_repeats_a_long_tag_only_in_part() -> None:
    with pytest.raises(BadArgument) as err:
        normalise_tag("x" * 5000)
    assert err.value.params["tag"] == "x" * 39 + "…"


def test_parse_tags_splits_normalises_and_dedupes() -> None:
    assert parse_tags("Video, photo; VIDEO,, #photo , 3D  animation,") == [
        "video", "photo", "3d animation"]
    assert parse_tags("one tag with spaces") == ["one tag with spaces"]


def test_parse_tags_limits() -> None:
    twenty = ", ".join(f"t{i}" for i in range(20))
    assert len(parse_tags(twenty)) == 20
    assert parse_tags("T0, #t0, t1") == ["t0", "t1"]  # duplicates are dropped
    with pytest.raises(BadArgument) as err:
        parse_tags(twenty + ", t20")
    assert err.value.params == {"count": 21, "max": 20}
    with pytest.raises(BadArgument) as typed:  # counted as typed, before normalising
        parse_tags(twenty + ", T0")
    assert typed.value.params == {"count": 21, "max": 20}
    with pytest.raises(UsageError):
        parse_tags(" , ;  ")
    with pytest.raises(BadArgument) as bad:
        parse_tags("video, ok?, photo")
    assert bad.value.params["tag"] == "ok?"


# -- pure: languages, timezones --------------------------------------------------------


def test_parse_languages() -> None:
    assert parse_languages("PL, en de") == ["pl", "en", "de"]
    assert parse_languages("uk;lt,,sv  pl pl") == ["uk", "lt", "sv", "pl"]
    assert parse_languages("de-DE pt_BR") == ["de", "pt"]
    assert parse_languages("eo la") == ["eo", "la"]  # any two-letter code babel knows


@pytest.mark.parametrize("text, bad", [("pl xx", "xx"), ("eng", "eng"), ("pl, 12", "12"),
                                       ("qq", "qq")])
def test_parse_languages_names_the_bad_code(text: str, bad: str) -> None:
    with pytest.raises(BadArgument) as err:
        parse_languages(text)
    assert err.value.params == {"code": bad}


def test_parse_languages_limits() -> None:
    with pytest.raises(BadArgument) as err:
        parse_languages("pl en de lt sv uk fr es it")
    assert err.value.params == {"count": 9, "max": 8}
    with pytest.raises(UsageError):
        parse_languages(" ,, ")


def test_parse_timezone() -> None:
    assert parse_timezone("Europe/Warsaw") == "Europe/Warsaw"
    assert parse_timezone("  europe/berlin ") == "Europe/Berlin"
    assert parse_timezone("america/argentina/buenos_aires") == "America/Argentina/Buenos_Aires"
    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "localtime", ""):
        with pytest.raises(BadArgument):
            parse_timezone(bad)


# -- pure: the card --------------------------------------------------------------------


def test_card_shows_every_field_escaped(translator: Translator,
                                        network_config: Config) -> None:
    member = Member(mxid="@ala:test", display_name="Ala <b>N</b>",
                    organisation='Studio "<script>alert(1)</script>"', location="szczecin",
                    languages="pl,en", timezone="Europe/Warsaw", bio="Line one\n<i>two</i>")

    text, html = profile_card(member, ["3d animation", "video"], ["funding"],
                              translator.bind("en"), network_config.network)
    assert text.splitlines() == [
        "Ala <b>N</b> (@ala:test)",
        'Organisation: Studio "<script>alert(1)</script>"',
        "Location: Szczecin, Poland",
        "Offers: 3d animation, video",
        "Needs: funding",
        "Languages: Polish, English",
        "Timezone: Europe/Warsaw",
        "Line one",
        "<i>two</i>",
    ]
    assert html.startswith('<a href="https://matrix.to/#/@ala:test">Ala &lt;b&gt;N&lt;/b&gt;</a>')
    assert "Studio &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in html
    assert "<script" not in html and "<b>N</b>" not in html
    assert "Line one<br>&lt;i&gt;two&lt;/i&gt;" in html


def test_card_in_the_readers_language_and_empty_hint(translator: Translator,
                                                     network_config: Config) -> None:
    member = Member(mxid="@jonas:test", location="rostock", languages="lt,de")

    text, _ = profile_card(member, [], [], translator.bind("pl"), network_config.network)
    assert "Rostock, Niemcy" in text
    assert "litewski, niemiecki" in text
    assert text.splitlines()[0] == "@jonas:test"

    empty = Member(mxid="@new:test")
    english = translator.bind("en")
    own, own_html = profile_card(empty, [], [], english, network_config.network,
                                 own=True, prefix="?")
    assert "?set org" in own and "?offer" in own and "<i>" in own_html
    other, _ = profile_card(empty, [], [], english, network_config.network)
    assert "?set" not in other and len(other.splitlines()) == 2


# -- !set ------------------------------------------------------------------------------


async def test_set_organisation(driver: Driver, deps: Deps) -> None:
    body = await one(driver, "!set org   Studio   Nord ")
    assert body == "Your organisation is now: Studio Nord"
    member, _, _ = await stored(deps)
    assert member is not None and member.organisation == "Studio Nord"
    assert await one(driver, '!set organisation "Muzeum Narodowe"') == (
        "Your organisation is now: Muzeum Narodowe")


async def test_set_organisation_too_long_keeps_the_old_one(driver: Driver, deps: Deps) -> None:
    await driver.send("!set org Studio Nord")
    body = await one(driver, "!set org " + "x" * 201)
    assert body.startswith("⚠️") and "201" in body and "200" in body
    member, _, _ = await stored(deps)
    assert member is not None and member.organisation == "Studio Nord"


async def test_set_location(driver: Driver, deps: Deps) -> None:
    assert await one(driver, "!set location szczecin") == (
        "Your location is now: Szczecin, Poland")
    assert await one(driver, "!set location ROSTOCK") == "Your location is now: Rostock, Germany"
    member, _, _ = await stored(deps)
    assert member is not None and member.location == "rostock"


async def test_set_location_unknown_lists_keys_and_changes_nothing(driver: Driver,
                                                                   deps: Deps) -> None:
    await driver.send("!set location szczecin")
    body = await one(driver, "!set location paris")
    assert body.startswith("⚠️") and "“paris”" in body and "szczecin, rostock" in body
    member, _, _ = await stored(deps)
    assert member is not None and member.location == "szczecin"


async def test_set_languages(driver: Driver, deps: Deps) -> None:
    assert await one(driver, "!set languages PL, en uk pl") == (
        "The languages you speak: Polish, English, Ukrainian")
    member, _, _ = await stored(deps)
    assert member is not None and member.languages == "pl,en,uk"
    body = await one(driver, "!set langs de xx")
    assert body.startswith("⚠️") and "“xx”" in body
    member, _, _ = await stored(deps)
    assert member is not None and member.languages == "pl,en,uk"


async def test_set_languages_answers_in_the_members_language(driver: Driver) -> None:
    await driver.send("!lang pl")
    body = await one(driver, "!set languages de, en")
    assert "niemiecki, angielski" in body


async def test_set_timezone(driver: Driver, deps: Deps) -> None:
    body = await one(driver, "!set tz europe/warsaw")
    assert "Europe/Warsaw" in body and "1:00" in body  # the clock says 12:00 UTC
    member, _, _ = await stored(deps)
    assert member is not None and member.timezone == "Europe/Warsaw"
    body = await one(driver, "!set timezone Warsaw")
    assert body.startswith("⚠️") and "“Warsaw”" in body
    member, _, _ = await stored(deps)
    assert member is not None and member.timezone == "Europe/Warsaw"


async def test_set_bio(driver: Driver, deps: Deps) -> None:
    await driver.send("!set bio I make films.\nAnd sound.")
    member, _, _ = await stored(deps)
    assert member is not None and member.bio == "I make films.\nAnd sound."
    body = await one(driver, "!set bio " + "y" * 1001)
    assert body.startswith("⚠️") and "1001" in body
    member, _, _ = await stored(deps)
    assert member is not None and member.bio == "I make films.\nAnd sound."


async def test_set_unknown_field_lists_fields(driver: Driver) -> None:
    body = await one(driver, "!set colour blue")
    assert body.startswith("⚠️") and "“colour”" in body
    assert "org, location, languages, tz" in body
    assert "!set org <value…>" in body and "!set connect <on|off>" in body


async def test_set_without_value_is_a_usage_error(driver: Driver, deps: Deps) -> None:
    body = await one(driver, "!set org")
    assert body.startswith("⚠️") and "!set org <value…>" in body
    body = await one(driver, '!set org ""')
    assert body.startswith("⚠️") and "!set org <value…>" in body
    member, _, _ = await stored(deps)
    assert member is not None and member.organisation is None


# -- !offer, !need ---------------------------------------------------------------------


async def test_offer_adds_normalised_tags_and_reports_duplicates(driver: Driver,
                                                                 deps: Deps) -> None:
    assert await one(driver, "!offer Video, 3D  Animation, video") == (
        "Added: video, 3d animation. You now offer 2 of at most 20 tags.")
    assert await one(driver, "!offer photo; #VIDEO") == (
        "Added: photo. Already there: video. You now offer 3 of at most 20 tags.")
    assert await one(driver, "!offer video") == (
        "Already there: video. You now offer 3 of at most 20 tags.")
    _, offers, needs = await stored(deps)
    assert offers == ["3d animation", "photo", "video"] and needs == []


async def test_offer_without_text_shows_the_list(driver: Driver) -> None:
    body = await one(driver, "!offer")
    assert "You do not offer anything yet" in body and "!offer video, 3d animation" in body
    await driver.send("!offer video, photo")
    body = await one(driver, "!offer")
    assert body.startswith("You offer: photo, video (2 of at most 20).")
    assert "!offer remove <tag>" in body


async def test_need_is_a_separate_list(driver: Driver, deps: Deps) -> None:
    await driver.send("!offer video")
    assert await one(driver, "!need Funding, video") == (
        "Added: funding, video. Your needs now list 2 of at most 20 tags.")
    assert (await one(driver, "!need")).startswith("You need: funding, video")
    _, offers, needs = await stored(deps)
    assert offers == ["video"] and needs == ["funding", "video"]


async def test_remove_tags(driver: Driver, deps: Deps) -> None:
    await driver.send("!offer video, photo, 3d animation")
    assert await one(driver, "!offer remove #Video") == (
        "Removed: video. You now offer 2 of at most 20 tags.")
    assert await one(driver, "!offer REMOVE 3D animation, drums") == (
        "Removed: 3d animation. Not among your offers: drums. "
        "You now offer 1 of at most 20 tags.")
    body = await one(driver, "!offer remove drums")
    assert body == "⚠️ Not among your offers: drums."
    body = await one(driver, "!need remove photo")
    assert body == "⚠️ Not among your needs: photo."
    body = await one(driver, "!offer remove")
    assert body.startswith("⚠️") and "!offer remove video" in body
    _, offers, _ = await stored(deps)
    assert offers == ["photo"]


async def test_a_tag_that_only_starts_with_remove_is_added(driver: Driver, deps: Deps) -> None:
    await driver.send("!offer removals")
    _, offers, _ = await stored(deps)
    assert offers == ["removals"]


async def test_limit_per_list_says_how_many_are_left(driver: Driver, deps: Deps) -> None:
    await driver.send("!offer " + ", ".join(f"t{i:02}" for i in range(18)))
    body = await one(driver, "!offer t00, new1, new2, new3")
    assert body.startswith("⚠️")
    assert "at most 20" in body and "21" in body and "Free places left: 2" in body
    _, offers, _ = await stored(deps)
    assert len(offers) == 18 and "new1" not in offers  # nothing of the rejected batch
    assert await one(driver, "!offer new1, new2") == (
        "Added: new1, new2. You now offer 20 of at most 20 tags.")
    body = await one(driver, "!offer new3")
    assert "Free places left: 0" in body
    _, offers, _ = await stored(deps)
    assert len(offers) == MAX_TAGS_PER_KIND


async def test_one_bad_tag_rejects_the_whole_list(driver: Driver, deps: Deps) -> None:
    body = await one(driver, "!need funding, <script>, video")
    assert body.startswith("⚠️") and "“<script>”" in body and "!need [tags…]" in body
    body = await one(driver, "!need " + ", ".join(f"n{i}" for i in range(21)))
    assert body.startswith("⚠️") and "21" in body
    _, _, needs = await stored(deps)
    assert needs == []


# -- !profile --------------------------------------------------------------------------


async def test_own_profile(driver: Driver) -> None:
    body = await one(driver, "!profile")
    assert body.splitlines()[0] == "@ala:test" and "!set org" in body
    await driver.send("!set org Studio Nord")
    await driver.send("!set location szczecin")
    await driver.send("!offer video")
    [out] = await driver.send("!profile")
    assert out.body.splitlines() == ["@ala:test", "Organisation: Studio Nord",
                                     "Location: Szczecin, Poland", "Offers: video"]
    assert out.html is not None and out.html.startswith(
        '<a href="https://matrix.to/#/@ala:test">@ala:test</a>')
    assert out.mentions == ("@ala:test",)


async def test_someone_elses_profile(driver: Driver, deps: Deps) -> None:
    await joined(deps, "@bob:test")
    await driver.send("!set org Studio Nord")
    await driver.send("!need funding")
    body = await one(driver, "!profile @ala:test", sender="@bob:test")
    assert body.splitlines() == ["@ala:test", "Organisation: Studio Nord", "Needs: funding"]
    assert await one(driver, "!profile @ALA:test", sender="@bob:test") == body
    assert await one(driver, "!profile https://matrix.to/#/@ala:test",
                     sender="@bob:test") == body


async def test_profile_of_a_mention_pill(driver: Driver, deps: Deps) -> None:
    from bot.events import Message

    await joined(deps, "@bob:test")
    await driver.send("!set org Studio Nord")
    pill = Message(event_id="$pill", room_id="!room:test", sender="@bob:test",
                   body="!profile Ala Nowak",
                   formatted_body='!profile <a href="https://matrix.to/#/%40ala%3Atest">'
                                  'Ala Nowak</a>')
    [out] = await driver.deliver(pill)
    assert "Organisation: Studio Nord" in out.body


async def test_profile_of_unknown_or_invalid_user(driver: Driver, deps: Deps) -> None:
    await joined(deps, "@ala:test")
    body = await one(driver, "!profile @nobody:test")
    assert body == "⚠️ I have not met @nobody:test yet, so I know nothing about them."
    body = await one(driver, "!profile nobody")
    assert body.startswith("⚠️") and "“nobody”" in body and "!profile [user…]" in body


async def test_profile_html_escapes_the_organisation(driver: Driver) -> None:
    await driver.send("!set org <script>alert(1)</script> & Co")
    [out] = await driver.send("!profile", sender="@ala:test")
    assert "Organisation: <script>alert(1)</script> & Co" in out.body
    assert out.html is not None and "<script" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in out.html


async def test_profile_labels_in_the_readers_language(driver: Driver, deps: Deps) -> None:
    await joined(deps, "@bob:test")
    await driver.send("!set location rostock")
    await driver.send("!set languages de, sv")
    await driver.send("!lang pl", sender="@bob:test")
    body = await one(driver, "!profile @ala:test", sender="@bob:test")
    assert "Rostock, Niemcy" in body and "niemiecki, szwedzki" in body


async def test_service_created_members_on_demand(deps: Deps) -> None:
    async with deps.db.session() as s:
        service = ProfileService(s, deps.clock)
        assert await service.get("@zed:test") is None
        added, already = await service.add_tags("@zed:test", "need", ["Video", "video", "AR"])
        assert (added, already) == (["video", "ar"], [])
        assert await service.remove_tag("@zed:test", "need", "#AR") is True
        assert await service.remove_tag("@zed:test", "need", "ar") is False
        assert await service.remove_tag("@zed:test", "need", "not a tag!") is False
    async with deps.db.session() as s:
        found = await ProfileService(s, deps.clock).get("@zed:test")
        assert found is not None and found.needs == ["video"] and found.offers == []
        assert found.member.first_seen == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


# -- !set as subcommands, !offer/!need remove ------------------------------------------


async def test_set_alone_says_what_is_missing(driver: Driver) -> None:
    body = await one(driver, "!set")
    assert body.startswith("⚠️ Something is missing: org, location, languages, tz, bio, "
                           "connect, advisor.")
    assert "!set bio <value…>" in body


async def test_set_fields_answer_to_their_aliases(driver: Driver, deps: Deps) -> None:
    assert await one(driver, "!set organization Studio Nord") == (
        "Your organisation is now: Studio Nord")
    await driver.send("!set langs de")
    await driver.send("!set timezone Europe/Berlin")
    member, _, _ = await stored(deps)
    assert member is not None and (member.languages, member.timezone) == ("de",
                                                                         "Europe/Berlin")


async def test_help_lists_each_field_and_the_removals(driver: Driver) -> None:
    body = await one(driver, "!help set")
    for usage in ("!set org <value…>", "!set location <location>", "!set languages <value…>",
                  "!set tz <value…>", "!set bio <value…>", "!set connect <on|off>"):
        assert usage in body
    org = await one(driver, "!help set org")
    assert org.startswith("!set org <value…>\nSet the name of your organisation.")
    assert "organisation, " in org and "organization" in org
    assert "!offer remove [tags…]" in await one(driver, "!help offer")
    listed = await one(driver, "!help")
    assert "!need remove [tags…]" in listed and "!set tz <value…>" in listed


# -- the service -----------------------------------------------------------------------


def test_removal_tags_keep_what_cannot_be_a_tag() -> None:
    assert removal_tags("#Video, 3D  animation; video,, ok?") == ["video", "3d animation",
                                                                  "ok?"]
    assert removal_tags(" , ; ") == []


def test_stored_languages() -> None:
    assert stored_languages("pl,en") == ["pl", "en"]
    assert stored_languages("") == [] and stored_languages(None) == []


async def test_service_find_add_remove_and_connect(deps: Deps) -> None:
    async with deps.db.session() as s:
        service = ProfileService(s, deps.clock)
        with pytest.raises(UserError) as unknown:
            await service.find("@zed:test")
        assert unknown.value.params == {"user": "@zed:test"}
        added = await service.add("@zed:test", "offer", "Video, photo; VIDEO")
        assert (added.changed, added.unchanged, added.total) == (["video", "photo"], [], 2)
        again = await service.add("@zed:test", "offer", "video, sound")
        assert (again.changed, again.unchanged, again.total) == (["sound"], ["video"], 3)
        removed = await service.remove("@zed:test", "offer", ["photo", "drums"])
        assert (removed.changed, removed.unchanged, removed.total) == (["photo"], ["drums"], 2)
        assert await service.set_connect("@zed:test", False) is False
    async with deps.db.session() as s:
        found = await ProfileService(s, deps.clock).find("@ZED:test")
        assert found.offers == ["sound", "video"] and found.member.connect_ok is False


class Sent:
    """Records what `Introductions` sends, as `Context.send` would take it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None, tuple[str, ...], str | None]] = []

    async def __call__(self, room_id: str, text: str, html: str | None = None, *,
                       mentions: tuple[str, ...] = (), replaces: str | None = None) -> str:
        self.calls.append((room_id, text, html, mentions, replaces))
        return f"$card{len(self.calls)}"


async def test_introduce_saves_the_bio_and_posts_in_each_rooms_language(deps: Deps) -> None:
    send = Sent()
    async with deps.db.session() as s:
        profiles = ProfileService(s, deps.clock)
        intro = Introductions(s, deps, profiles)
        assert await intro.introduce("@ala:test", "I make films.", send) == []
        await profiles.set_location("@ala:test", deps.config.network.find_location("szczecin"))
        await profiles.add_tags("@ala:test", "offer", ["video editing"])
        posted = await intro.introduce("@ala:test", "I make <films>.", send)
    assert [(p.room.spec.key, p.edited) for p in posted] == [("szczecin", False),
                                                             ("design", False)]
    polish, english = send.calls
    assert polish[0] == room_id("location:szczecin") and english[0] == room_id("topic:design")
    assert polish[1].splitlines()[0] == "👋 Przedstawiamy osobę z sieci"
    assert "Szczecin, Polska" in polish[1]
    assert english[1].splitlines()[0] == "👋 Introducing a member of the network"
    assert "Location: Szczecin, Poland" in english[1] and "&lt;films&gt;" in (english[2] or "")
    assert polish[3] == ("@ala:test",) and polish[4] is None
    async with deps.db.session() as s:
        assert (await ProfileService(s, deps.clock).find("@ala:test")).member.bio == (
            "I make <films>.")
        cards = (await s.scalars(select(IntroCard))).all()
        assert sorted(c.event_id for c in cards) == ["$card1", "$card2"]
    async with deps.db.session() as s:  # within a day, a second introduction edits the cards
        again = await Introductions(s, deps, ProfileService(s, deps.clock)).introduce(
            "@ala:test", "Updated.", send)
    assert all(p.edited for p in again)
    assert [c[4] for c in send.calls[2:]] == ["$card1", "$card2"]


# -- who may see what (issue 11) -------------------------------------------------------

MEMBERS_ONLY = "This is for members of the network"


async def test_an_outsider_sees_nobody_elses_card(driver: Driver, deps: Deps) -> None:
    await driver.send("!set org Studio Nord")
    await driver.send("!need funding")
    await driver.send("!set bio Secret plans.")
    for asked in ("!profile @ala:test", "!profile https://matrix.to/#/@ala:test",
                  "!profile @nobody:test"):  # not even whether the bot knows someone
        body = await one(driver, asked, sender="@eve:elsewhere")
        assert body.startswith("⚠️ " + MEMBERS_ONLY) and "!rooms" in body, asked
        assert "Studio" not in body and "funding" not in body and "nobody" not in body


async def test_an_outsiders_own_card_is_theirs_to_see(driver: Driver) -> None:
    await driver.send("!set org Eve Ltd", sender="@eve:elsewhere")
    body = await one(driver, "!profile", sender="@eve:elsewhere")
    assert "Organisation: Eve Ltd" in body
    body = await one(driver, "!profile @eve:elsewhere", sender="@eve:elsewhere")
    assert "Organisation: Eve Ltd" in body


async def test_who_left_every_room_is_an_outsider_again(driver: Driver, deps: Deps) -> None:
    await driver.send("!need funding")
    await joined(deps, "@bob:test")
    assert "Needs: funding" in await one(driver, "!profile @ala:test", sender="@bob:test")
    async with deps.db.session() as s:
        [stay] = (await s.scalars(select(RoomMembership))).all()
        stay.until, stay.ended = deps.clock(), "leave"
    body = await one(driver, "!profile @ala:test", sender="@bob:test")
    assert body.startswith("⚠️ " + MEMBERS_ONLY)


async def test_a_coordinator_sees_cards(driver: Driver) -> None:
    await driver.send("!need funding")
    assert "Needs: funding" in await one(driver, "!profile @ala:test", sender="@coord:test")


async def test_an_outsider_cannot_post_an_introduction(driver: Driver, deps: Deps,
                                                       gateway) -> None:  # noqa: ANN001
    await driver.send("!set location szczecin", sender="@eve:elsewhere")
    out = await driver.send("!intro Buy my stuff", sender="@eve:elsewhere")
    [refused] = out
    assert refused.body.startswith("⚠️ " + MEMBERS_ONLY)
    assert all(o.room_id == "!room:test" for o in gateway.sent)


# -- clearing a field ------------------------------------------------------------------


async def test_a_dash_clears_a_field(driver: Driver, deps: Deps) -> None:
    await driver.send("!set org Studio Nord")
    await driver.send("!set location szczecin")
    await driver.send("!set languages pl, en")
    await driver.send("!set tz Europe/Warsaw")
    await driver.send("!set bio I make films.")
    await driver.send("!offer video")
    assert await one(driver, "!set org -") == "Your organisation is removed from your profile."
    assert await one(driver, "!set location -") == "Your location is removed from your profile."
    assert await one(driver, '!set languages "-"') == (
        "Your languages are removed from your profile.")
    assert await one(driver, "!set tz  - ") == "Your timezone is removed from your profile."
    assert await one(driver, "!set bio -") == "Your bio is removed from your profile."
    member, offers, _ = await stored(deps)
    assert member is not None and offers == ["video"]
    assert (member.organisation, member.location, member.languages, member.timezone,
            member.bio) == (None, None, None, None, None)
    async with deps.db.session() as s:  # the tags' copy of the location is cleared too
        [tag] = (await s.scalars(select(MemberTag))).all()
        assert tag.location is None
    body = await one(driver, "!profile")
    assert body.splitlines() == ["@ala:test", "Offers: video"]


async def test_a_dash_is_never_stored_as_a_value(deps: Deps) -> None:
    async with deps.db.session() as s:
        service = ProfileService(s, deps.clock)
        await service.set_organisation("@ala:test", "Studio Nord")
        for setter in (service.set_organisation, service.set_bio):
            with pytest.raises(UsageError):
                await setter("@ala:test", " - ")
        member = await service.members.get("@ala:test")
        assert member is not None and member.organisation == "Studio Nord" and not member.bio


async def test_clearing_for_someone_unknown_records_nothing(deps: Deps) -> None:
    async with deps.db.session() as s:
        await ProfileService(s, deps.clock).clear("@zed:test", "bio")
        assert await s.get(Member, "@zed:test") is None


async def test_set_help_says_a_dash_clears(driver: Driver) -> None:
    assert "“-” clears one" in await one(driver, "!help set")


# -- hostile input ---------------------------------------------------------------------


async def test_thousands_of_tags_are_refused_before_any_is_normalised(
        driver: Driver, deps: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.features.profiles.service as service_module

    calls = []
    real = service_module.normalise_tag

    def counting(raw: str) -> str:
        calls.append(raw)
        return real(raw)

    monkeypatch.setattr(service_module, "normalise_tag", counting)
    body = await one(driver, "!offer " + ",".join(["x"] * 2000))  # within a command's 4 KiB
    assert body.startswith("⚠️ Too many tags at once (2000): a list holds at most 20.")
    assert len(body) < 300 and calls == []
    _, offers, _ = await stored(deps)
    assert offers == []


async def test_removing_thousands_of_tags_is_one_statement_and_a_short_reply(
        driver: Driver, deps: Deps) -> None:
    await driver.send("!offer video, photo, sound")
    with recorded(deps.db) as sent:
        typed = ",".join(["video", "photo", *(f"g{i}" for i in range(600))])
        body = await one(driver, "!offer remove " + typed)
    deletes = [s for s, _ in sent if s.lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 1
    assert body.startswith("Removed: video, photo. Not among your offers: g0, g1")
    assert body.endswith("You now offer 1 of at most 20 tags.") and len(body) < 400
    _, offers, _ = await stored(deps)
    assert offers == ["sound"]
    body = await one(driver, "!offer remove " + ",".join(f"x{i}" for i in range(600)))
    assert body.startswith("⚠️ Not among your offers: x0, x1") and len(body) < 300


BIDI = "\u202e\u2066\u200f"


async def test_bidi_controls_are_stripped_from_what_is_stored(driver: Driver,
                                                              deps: Deps) -> None:
    await driver.send(f"!set org Studio{BIDI} Nord\u202c")
    await driver.send(f"!set bio I make{BIDI} films.\nAnd\u2069 sound.")
    member, _, _ = await stored(deps)
    assert member is not None
    assert member.organisation == "Studio Nord" and member.bio == "I make films.\nAnd sound."
    body = await one(driver, "!offer vi\u202edeo")  # not a tag; named without the control
    assert "U+202E" in body and "\u202e" not in body


async def test_room_in_a_bio_pings_nobody(driver: Driver, deps: Deps, gateway) -> None:  # noqa: ANN001
    await joined(deps, "@ala:test")
    await driver.send("!set location szczecin")
    await driver.send("!set bio Hello @room and @ROOM!")
    [card] = await driver.send("!profile")
    shown = card.content()  # what goes over the wire
    for text in (shown["body"], shown["formatted_body"]):
        assert "@room" not in text.lower() and "@\u2060room" in text
    out = await driver.send("!intro Hello @room, I make films.")
    posted = [o for o in out if o.room_id == room_id("location:szczecin")]
    assert posted
    content = posted[0].content()
    assert "@room" not in content["body"].lower() and "@room" not in content[
        "formatted_body"].lower()
    assert content["m.mentions"] == {"user_ids": ["@ala:test"]}


# -- personal data ---------------------------------------------------------------------


async def test_mydata_holds_tags_and_introduction_cards(driver: Driver, deps: Deps,
                                                        gateway) -> None:  # noqa: ANN001
    import json

    await joined(deps, "@ala:test")
    await driver.send("!set location szczecin")
    await driver.send("!offer video")
    await driver.send("!need funding")
    await driver.send("!intro I make films.")
    await driver.send("!mydata")
    data = json.loads(gateway.uploads[-1][1])
    assert data["tags"] == [{"kind": "need", "tag": "funding"},
                            {"kind": "offer", "tag": "video"}]
    cards = data["introductions"]  # "video" meets the design topic's tags too
    assert sorted(c["room_id"] for c in cards) == [room_id("location:szczecin"),
                                                   room_id("topic:design")]
    assert all(c["posted_at"] and c["event_id"] for c in cards)


async def test_forget_me_redacts_the_cards_and_erases_the_tags(driver: Driver, deps: Deps,
                                                               gateway) -> None:  # noqa: ANN001
    await joined(deps, "@ala:test", "@bob:test")
    await driver.send("!set location szczecin")
    await driver.send("!offer video")
    await driver.send("!intro I make films.")
    await driver.send("!offer design", sender="@bob:test")
    await driver.send("!intro I design.", sender="@bob:test")
    async with deps.db.session() as s:
        cards = [(c.room_id, c.event_id) for c in await s.scalars(
            select(IntroCard).where(IntroCard.mxid == "@ala:test"))]
    assert sorted(r for r, _ in cards) == [room_id("location:szczecin"), room_id("topic:design")]
    gateway.refuse.add(room_id("topic:design"))  # a room that refuses: erased all the same
    [done] = await driver.send("!forget-me confirm")
    assert done.body.startswith("Done:")
    assert gateway.redacted == [c for c in cards if c[0] == room_id("location:szczecin")]
    async with deps.db.session() as s:
        assert [c.mxid for c in await s.scalars(select(IntroCard))] == ["@bob:test"]
        assert [t.mxid for t in await s.scalars(select(MemberTag))] == ["@bob:test"]
    assert "Offers: design" in await one(driver, "!profile @bob:test", sender="@bob:test")
