"""!share and !announce reach the right rooms, in each room's language."""

from __future__ import annotations

import pytest

from bot.db import Database
from bot.deps import Deps
from bot.features.relays.service import SHARES_PER_HOUR, hashtags, split_languages, version_for
from bot.i18n import Translator
from tests.conftest import LOCATIONS, Clock, base_config, network_deps
from tests.fakes import Driver, FakeGateway

NETWORK = {
    "space": {"alias": "t"},
    "locations": [
        LOCATIONS["szczecin"],
        LOCATIONS["rostock"],
        LOCATIONS["blekinge"],
    ],
    "topics": [{"key": "design", "name": "Design & Media", "alias": "t-design",
                "tags": ["design", "video"]},
               {"key": "games", "name": "Games", "alias": "t-games", "tags": ["games"]}],
    "partners_room": {"alias": "t-partners", "language": "en"},
}
ROOMS = {"space": "!space", "location:szczecin": "!szn", "location:rostock": "!ros",
         "location:blekinge": "!ble", "topic:design": "!des", "topic:games": "!gam",
         "partners": "!par"}


@pytest.fixture
async def deps(db: Database, gateway: FakeGateway, translator: Translator,
               clock: Clock) -> Deps:
    return await network_deps(db, gateway, translator, clock, base_config(
        network=NETWORK, tags={"synonyms": {"video": ["wideo"]}}), ROOMS)


def relayed(out: list, source: str = "!szn") -> dict[str, str]:
    return {o.room_id: o.body for o in out if o.room_id != source}


async def test_share_by_hashtag_with_synonyms(driver: Driver, translator: Translator) -> None:
    out = await driver.send("!share Nowy klip #wideo <b>premiera</b>", room_id="!szn")
    rooms = relayed(out)
    assert set(rooms) == {"!des"}
    relay = next(o for o in out if o.room_id == "!des")
    assert "&lt;b&gt;premiera&lt;/b&gt;" in relay.html and relay.mentions == ("@ala:test",)
    template = translator.gettext("📣 %(who)s from %(place)s shares: %(text)s", "en")
    assert relay.body.startswith(template.split("%(who)s")[0])
    assert "Szczecin" in relay.body
    reply = next(o for o in out if o.room_id == "!szn")
    assert "Design & Media" in reply.body


async def test_share_by_the_authors_tags(driver: Driver) -> None:
    await driver.send("!offer games", room_id="!szn")
    out = await driver.send("!share Looking for testers", room_id="!szn")
    assert set(relayed(out)) == {"!gam"}


async def test_share_all_goes_to_other_locations_in_their_language(
        driver: Driver, translator: Translator) -> None:
    out = await driver.send("!share --all Open studio on Friday", room_id="!szn")
    rooms = relayed(out)
    assert set(rooms) == {"!ros", "!ble"}
    de = translator.gettext("📣 %(who)s from %(place)s shares: %(text)s", "de")
    assert rooms["!ros"].startswith(de.split("%(who)s")[0])


async def test_share_only_from_location_rooms_and_rate_limited(driver: Driver) -> None:
    [out] = await driver.send("!share hello #video", room_id="!des")
    assert out.body.startswith("⚠️")
    for i in range(SHARES_PER_HOUR):
        await driver.send(f"!share news {i} #video", room_id="!szn")
    [limited] = await driver.send("!share one more #video", room_id="!szn")
    assert limited.body.startswith("⚠️") and str(SHARES_PER_HOUR) in limited.body
    [nothing] = await driver.send("!share no tags here", sender="@bob:x", room_id="!szn")
    assert "#video" in nothing.body


async def test_announce_multilingual_with_english_fallback(driver: Driver) -> None:
    out = await driver.send("!announce en: Forum tickets are out | pl: Bilety na forum | "
                            "de: Forumskarten sind da", sender="@coord:test", room_id="!par")
    bodies = relayed(out, source="")
    assert "Bilety na forum" in bodies["!szn"]
    assert "Forumskarten" in bodies["!ros"]
    assert "Forum tickets are out" in bodies["!ble"]  # Swedish room: English fallback
    assert "Forum tickets are out" in bodies["!des"] and "!space" not in bodies
    [denied] = await driver.send("!announce hi", sender="@ala:test")
    assert denied.body.startswith("⚠️")


def test_parsing_helpers() -> None:
    assert hashtags("New #Video and #3d-art, not a#tag, ##x") == ["video", "3d-art"]
    assert split_languages("en: Hi | pl: Cześć") == {"en": "Hi", "pl": "Cześć"}
    assert split_languages("Just text | with a bar") == {"": "Just text | with a bar"}
    assert version_for({"pl": "Cześć", "de": "Hallo"}, "sv") == "Cześć"
    assert version_for({"en": "Hi", "pl": "Cześć"}, "sv") == "Hi"


async def test_a_refusing_room_is_reported_not_fatal(driver: Driver, gateway: FakeGateway
                                                     ) -> None:
    from bot.errors import GatewayError

    real_send = gateway.send

    async def refuse_rostock(message):  # noqa: ANN001, ANN202
        if message.room_id == "!ros":
            raise GatewayError("send: M_FORBIDDEN", "M_FORBIDDEN", 403)
        return await real_send(message)

    gateway.send = refuse_rostock  # type: ignore[method-assign]
    out = await driver.send("!share --all Open studio", room_id="!szn")
    assert set(relayed(out)) == {"!ble"}
    reply = next(o for o in out if o.room_id == "!szn")
    assert "Blekinge" in reply.body and "Rostock" in reply.body  # reached, and not reached
