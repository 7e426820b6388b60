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


# -- hostile text, and what is kept -----------------------------------------------------------


def pings_the_room(message) -> bool:  # noqa: ANN001
    from bot.events import ROOM_PING

    content = message.content()
    return bool(ROOM_PING.search(content["body"])
                or ROOM_PING.search(content.get("formatted_body") or ""))


async def test_room_pings_in_shares_and_announcements_ping_nobody(driver: Driver) -> None:
    out = await driver.send("!share @room party tonight! @ROOM #video", room_id=SZN)
    relay = next(o for o in out if o.room_id == DES)
    assert "party tonight" in relay.content()["body"]
    assert not pings_the_room(relay) and relay.mentions == ("@ala:test",)
    out = await driver.send("!announce en: @room tickets | pl: @room bilety",
                            sender="@coord:test", room_id=PAR)
    posts = [o for o in out if o.reply_to is None]  # not the answer to the coordinator
    assert len(posts) == 6 and not any(pings_the_room(o) for o in posts)
    assert all(o.mentions == () for o in posts)
    assert "bilety" in next(o for o in posts if o.room_id == SZN).content()["body"]


async def test_a_flag_that_only_starts_like_all_is_text(driver: Driver) -> None:
    out = await driver.send("!share --allxyz Open studio #video", room_id=SZN)
    assert set(relayed(out)) == {DES}  # not every location room
    assert "--allxyz Open studio" in relayed(out)[DES]
    out = await driver.send("!share --ALL Open studio", room_id=SZN)  # flags ignore case
    assert set(relayed(out)) == {ROS, BLE}


async def test_a_long_share_is_relayed_whole_and_fits_one_event(driver: Driver) -> None:
    import json

    text = ("<&> Zażółć gęślą jaźń " * 200).encode()[:4070].decode(errors="ignore")
    text += " #video"  # 4 KiB: HTML-escaped, the relay's HTML is about four times as long
    assert 4050 < len(f"!share {text}".encode()) <= 4096
    out = await driver.send(f"!share {text}", room_id=SZN)
    relay = next(o for o in out if o.room_id == DES)
    content = relay.content()
    assert text in content["body"]
    assert len(json.dumps(content).encode()) < 65_536
    [refused] = await driver.send("!share " + "x" * 5000, room_id=SZN)
    assert refused.body.startswith("⚠️") and "4096" in refused.body


async def test_shares_are_exported_erased_and_pruned(deps: Deps, driver: Driver, clock) -> None:  # noqa: ANN001
    from datetime import timedelta

    from sqlalchemy import select

    from bot.app import wire
    from bot.db.models import Share

    wiring = wire(deps)
    shares = next(p for p in wiring.personal_data if p.name == "shares")
    prune = next(j for j in wiring.jobs if j.id == "prune-shares").func
    await driver.send("!share Old news #video", room_id=SZN)
    clock.now += timedelta(days=60)
    await driver.send("!share News #video", room_id=SZN)
    await driver.send("!share Hallo #video", sender="@bob:test", room_id=ROS)
    async with deps.db.session() as s:
        exported = await shares.export(s, "@ala:test")
    assert [(e["from"], e["room_id"]) for e in exported] == [("Szczecin", SZN)] * 2
    assert "News" not in str(exported)  # what was shared is not kept
    clock.now += timedelta(days=31)  # the first share is 91 days old
    await prune()
    async with deps.db.session() as s:
        assert len(await shares.export(s, "@ala:test")) == 1
        assert await shares.erase(s, "@ala:test", "@former-1:invalid") == 1
    async with deps.db.session() as s:
        assert (await s.scalars(select(Share.mxid))).all() == ["@bob:test"]
