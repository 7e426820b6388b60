"""!share and !announce reach the right rooms, in each room's language."""

from __future__ import annotations

import pytest

from bot.deps import Deps
from bot.features.relays.service import (
    SHARES_PER_HOUR,
    hashtags,
    language_versions,
    version_for,
)
from bot.i18n import Translator
from tests.conftest import network, room_id
from tests.fakes import Driver, FakeGateway

SZN, ROS, BLE = (room_id(f"location:{k}") for k in ("szczecin", "rostock", "blekinge"))
DES, GAM, PAR = room_id("topic:design"), room_id("topic:games"), room_id("partners")
SPACE = room_id("space")


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    return await make_deps(
        network=network("szczecin", "rostock", "blekinge", topics=("design", "games"),
                        partners="en"),
        tags={"synonyms": {"video": ["wideo"]}})


def relayed(out: list, source: str = SZN) -> dict[str, str]:
    return {o.room_id: o.body for o in out if o.room_id != source}


async def test_share_by_hashtag_with_synonyms(driver: Driver, translator: Translator) -> None:
    out = await driver.send("!share Nowy klip #wideo <b>premiera</b>", room_id=SZN)
    rooms = relayed(out)
    assert set(rooms) == {DES}
    relay = next(o for o in out if o.room_id == DES)
    assert "&lt;b&gt;premiera&lt;/b&gt;" in relay.html and relay.mentions == ("@ala:test",)
    template = translator.gettext("📣 %(who)s from %(place)s shares: %(text)s", "en")
    assert relay.body.startswith(template.split("%(who)s")[0])
    assert "Szczecin" in relay.body
    reply = next(o for o in out if o.room_id == SZN)
    assert "Design & Media" in reply.body


async def test_share_by_the_authors_tags(driver: Driver) -> None:
    await driver.send("!offer games", room_id=SZN)
    out = await driver.send("!share Looking for testers", room_id=SZN)
    assert set(relayed(out)) == {GAM}


async def test_share_all_goes_to_other_locations_in_their_language(
        driver: Driver, translator: Translator) -> None:
    out = await driver.send("!share --all Open studio on Friday", room_id=SZN)
    rooms = relayed(out)
    assert set(rooms) == {ROS, BLE}
    de = translator.gettext("📣 %(who)s from %(place)s shares: %(text)s", "de")
    assert rooms[ROS].startswith(de.split("%(who)s")[0])


async def test_share_only_from_location_rooms_and_rate_limited(driver: Driver) -> None:
    [out] = await driver.send("!share hello #video", room_id=DES)
    assert out.body.startswith("⚠️")
    for i in range(SHARES_PER_HOUR):
        await driver.send(f"!share news {i} #video", room_id=SZN)
    [limited] = await driver.send("!share one more #video", room_id=SZN)
    assert limited.body.startswith("⚠️") and str(SHARES_PER_HOUR) in limited.body
    [nothing] = await driver.send("!share no tags here", sender="@bob:x", room_id=SZN)
    assert "#video" in nothing.body


async def test_announce_multilingual_with_english_fallback(driver: Driver) -> None:
    out = await driver.send("!announce en: Forum tickets are out | pl: Bilety na forum | "
                            "de: Forumskarten sind da", sender="@coord:test", room_id=PAR)
    bodies = relayed(out, source="")
    assert "Bilety na forum" in bodies[SZN]
    assert "Forumskarten" in bodies[ROS]
    assert "Forum tickets are out" in bodies[BLE]  # Swedish room: English fallback
    assert "Forum tickets are out" in bodies[DES] and SPACE not in bodies
    [denied] = await driver.send("!announce hi", sender="@ala:test")
    assert denied.body.startswith("⚠️")


def test_parsing_helpers() -> None:
    assert hashtags("New #Video and #3d-art, not a#tag, ##x") == ["video", "3d-art"]
    assert language_versions("en: Hi | pl: Cześć") == {"en": "Hi", "pl": "Cześć"}
    assert language_versions("Just text | with a bar") == {"": "Just text | with a bar"}
    assert version_for({"pl": "Cześć", "de": "Hallo"}, "sv") == "Cześć"
    assert version_for({"en": "Hi", "pl": "Cześć"}, "sv") == "Hi"


async def test_a_refusing_room_is_reported_not_fatal(driver: Driver, gateway: FakeGateway
                                                     ) -> None:
    from bot.errors import GatewayError

    real_send = gateway.send

    async def refuse_rostock(message):  # noqa: ANN001, ANN202
        if message.room_id == ROS:
            raise GatewayError("send: M_FORBIDDEN", "M_FORBIDDEN", 403)
        return await real_send(message)

    gateway.send = refuse_rostock  # type: ignore[method-assign]
    out = await driver.send("!share --all Open studio", room_id=SZN)
    assert set(relayed(out)) == {BLE}
    reply = next(o for o in out if o.room_id == SZN)
    assert "Blekinge" in reply.body and "Rostock" in reply.body  # reached, and not reached


async def test_share_all_is_a_declared_flag(driver: Driver) -> None:
    [missing] = await driver.send("!share --all", room_id=SZN)  # a Polish room
    assert missing.body.startswith("⚠️") and ": text." in missing.body
    assert "!share <text…> [--all]" in missing.body
    [shown] = await driver.send("!help share")
    assert "!share <text…> [--all]" in shown.body


async def test_each_relay_has_its_own_transaction_id_from_the_command(
        driver: Driver) -> None:
    from bot.context import txn_base

    message = driver.message("!share --all Open studio", room_id=SZN, event_id="$share1")
    out = await driver.deliver(message)
    assert [o.txn_id for o in out] == [f"{txn_base('$share1')}.{n}" for n in (1, 2, 3)]
    assert out[-1].room_id == SZN  # the answer comes last


async def test_the_service_reports_reached_and_failed_rooms_and_records_the_share(
        deps: Deps, gateway: FakeGateway) -> None:
    from sqlalchemy import func, select

    from bot.db.models import Share
    from bot.features.profiles.config import TagsConfig
    from bot.features.relays.service import Relays

    gateway.refuse.add(ROS)
    ids = iter(range(100))
    async with deps.db.session() as session:
        relays = Relays(session, deps, deps.config.section(TagsConfig))
        shared = await relays.share(SZN, "@ala:test", "Open studio", True,
                                    lambda: f"t{next(ids)}")
        announced = await relays.announce("en: Hi | de: Hallo", lambda: f"t{next(ids)}")
    assert [r.spec.key for r in shared.reached] == ["blekinge"]
    assert [r.spec.key for r in shared.failed] == ["rostock"]
    assert [r.spec.key for r in announced.failed] == ["rostock"]
    assert [r.spec.key for r in announced.reached] == ["szczecin", "blekinge", "design", "games",
                                                       "partners"]
    assert [o.body.split("\n")[-1] for o in gateway.sent[1:]] == ["Hi"] * 5
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Share)) == 1


async def test_announce_before_provisioning_says_what_to_run(
        db, gateway: FakeGateway, translator: Translator, clock) -> None:  # noqa: ANN001
    from bot.app import parse_config
    from tests.conftest import base_config, make_dispatcher

    config = parse_config(base_config(network=network("szczecin")), environ={})
    deps = Deps(config=config, db=db, gateway=gateway, translator=translator, clock=clock)
    driver = Driver(make_dispatcher(deps), gateway)
    [out] = await driver.send("!announce Hello", sender="@coord:test")
    assert out.body == ("⚠️ The network's rooms are not set up yet; a coordinator can run "
                        "!provision.")


async def test_a_share_with_an_unclosed_quote_is_shared_as_typed(driver: Driver) -> None:
    for text in ("Unser „Tag der offenen Tür“ #video", "Music of the '90s #video"):
        out = await driver.send(f"!share {text}", room_id=ROS)
        assert text in relayed(out, source=ROS)[DES]
