"""The weekly digest: composition from a seeded database, once per room per week, catching
up after downtime, activity counting, and the commands."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import wire
from bot.db.models import (
    AdvisoryRequest,
    Collaboration,
    CollaborationEvent,
    CollaborationMember,
    Connection,
    DigestDelivery,
    ForumEvent,
    Member,
    NetworkRoom,
    RoomActivity,
    RoomMembership,
    Rsvp,
)
from bot.deps import Deps
from bot.events import Message
from bot.features.collaborations.messages import STATUS_LABELS
from bot.features.digest.activity import ActivityCounter
from bot.features.digest.composer import EVENT_LIMIT, Digest, DigestComposer
from bot.features.digest.config import DigestConfig
from bot.features.digest.delivery import DigestSender, DigestSubscriptions
from bot.i18n import SUPPORTED_LANGUAGES, Translator
from rooms.settings import RoomSettingsService
from tests.conftest import Clock, network, room_id
from tests.fakes import Driver, FakeGateway

NETWORK = network("szczecin", "rostock", topics=("design",), partners="de")
SZN, ROS = room_id("location:szczecin"), room_id("location:rostock")
DES, PAR = room_id("topic:design"), room_id("partners")
DIGEST = {"schedule": "mon 09:00", "timezone": "Europe/Berlin", "rooms": ["partners"]}
# Monday 1 March 2027, 09:00 Berlin = 08:00 UTC: the digest's slot
SLOT = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def deps(make_deps, clock: Clock) -> Deps:  # noqa: ANN001
    clock.now = SLOT + timedelta(minutes=5)
    return await make_deps(network=NETWORK, digest=DIGEST)


def composer(deps: Deps) -> DigestComposer:
    return DigestComposer(deps.config.network, deps.config.section(DigestConfig))


def new_sender(deps: Deps) -> DigestSender:
    """A sender as the feature's setup makes it (a new one: as in a new process)."""
    return DigestSender(deps, deps.config.section(DigestConfig), composer(deps))


async def seed(deps: Deps, intros: int = 2) -> None:
    day = SLOT - timedelta(days=2)
    old = SLOT - timedelta(days=20)
    async with deps.db.session() as s:
        for i in range(intros):
            s.add(Member(mxid=f"@new{i}:x", display_name=f"New {i}", first_seen=day,
                         location="szczecin", intro_at=day))
        s.add(Member(mxid="@old:x", first_seen=old, intro_at=old))
        s.add_all([RoomMembership(room_id=SZN, mxid="@new0:x", since=day, imported=False),
                   RoomMembership(room_id=ROS, mxid="@new1:x", since=day, imported=False),
                   RoomMembership(room_id=ROS, mxid="@imp:x", since=day, imported=True),
                   RoomMembership(room_id=SZN, mxid="@old:x", since=old, imported=False)])
        c = Collaboration(title="Film <festival>", status="active", origin="direct",
                          created_by="@new0:x", created_at=day, cross_border=True)
        s.add(c)
        s.add(Collaboration(title="Old one", status="active", origin="direct",
                            created_by="@x:x", created_at=old))
        await s.flush()
        s.add(CollaborationEvent(collaboration_id=c.id, at=day, by="@new0:x", kind="status",
                                 status="active"))
        s.add(Connection(a="@new0:x", b="@new1:x", origin="connect", cross_border=True,
                         created_at=day))
        f = ForumEvent(title="Annual Forum", location="szczecin", timezone="Europe/Warsaw",
                       starts_at=SLOT + timedelta(days=10), status="scheduled",
                       created_by="@c:x", created_at=day, trigger="$t")
        s.add(f)
        await s.flush()
        s.add(Rsvp(forum_id=f.id, mxid="@new0:x", answer="yes", waitlisted=False,
                   answered_at=day))
        for offset in range(1, 30):
            s.add(RoomActivity(room_id=DES, day=(SLOT - timedelta(days=offset)).date(),
                               count=3))
            s.add(RoomActivity(room_id=SZN, day=(SLOT - timedelta(days=offset)).date(),
                               count=1))


async def compose(deps: Deps, locale: str = "en", chart: bool = False) -> Digest:
    async with deps.db.session() as s:
        return await composer(deps).compose(s, deps.translator.bind(locale), SLOT, chart=chart)


async def test_every_section_from_a_seeded_week(deps: Deps) -> None:
    await seed(deps)
    digest = await compose(deps)
    text = digest.text
    assert "2 people joined location rooms." in text
    assert "Szczecin: 1" in text and "Rostock: 1" in text
    assert "New 0 (Szczecin) introduced themselves" in text
    assert "1 new collaboration, 100% across borders." in text
    assert "#1 Film <festival> 🌍" in text and "Old one" not in text
    assert "Film &lt;festival&gt;" in digest.html
    assert "Annual Forum" in text and "1 coming, 0 maybe" in text
    assert "1 new connection, 100% across borders." in text
    # the six days 23–28 February (1 March has none yet)
    assert text.index("Design & Media: 18 messages") < text.index("Szczecin: 6 messages")
    assert "@imp:x" not in text


async def test_quiet_week(deps: Deps) -> None:
    digest = await compose(deps)
    assert digest.empty and "quiet week" in digest.text


@pytest.mark.parametrize("locale", SUPPORTED_LANGUAGES)
async def test_each_language(deps: Deps, translator: Translator, locale: str) -> None:
    await seed(deps)
    digest = await compose(deps, locale)
    for title in ("New members", "Collaborations", "Coming up (next 30 days)"):
        assert translator.gettext(title, locale) in digest.text


async def test_long_lists_are_cut_and_the_event_stays_small(deps: Deps) -> None:
    await seed(deps, intros=3000)
    digest = await compose(deps)
    assert "and 2987 more lines" in digest.text  # 2 location lines + 3000 introductions - 15
    import json
    assert len(json.dumps({"body": digest.text, "formatted_body": digest.html})) < EVENT_LIMIT


async def test_chart_of_activity_per_location(deps: Deps) -> None:
    await seed(deps)
    digest = await compose(deps, chart=True)
    assert digest.chart is not None and digest.chart.startswith(b"\x89PNG")
    assert "Szczecin" in digest.chart_alt


async def test_one_digest_per_room_per_week_across_restarts(deps: Deps, gateway: FakeGateway,
                                                            clock: Clock) -> None:
    await seed(deps)
    assert await new_sender(deps).deliver() == 1
    texts = [o for o in gateway.sent if o.msgtype == "m.notice"]
    images = [o for o in gateway.sent if o.msgtype == "m.image"]
    assert [o.room_id for o in texts] == [PAR] and len(images) == 1
    assert "Neue Mitglieder" in texts[0].body or "New members" in texts[0].body
    clock.now += timedelta(hours=3)
    assert await new_sender(deps).deliver() == 0  # a new process, the same week
    async with deps.db.session() as s:
        [row] = (await s.scalars(select(DigestDelivery))).all()
    assert (row.week, row.state) == ("2027-W09", "sent")


async def test_crash_between_sending_and_sent_posts_once(deps: Deps,
                                                         gateway: FakeGateway) -> None:
    sender = new_sender(deps)
    async with deps.db.session() as s:
        s.add(DigestDelivery(room_id=PAR, week="2027-W09", state="sending"))
    async with deps.db.session() as s:
        composed = await composer(deps).compose(s, deps.translator.bind("de"), SLOT)
    await sender.post(PAR, composed, f"sbcc.digest.2027-W09.{PAR}")  # then the crash
    await sender.deliver()
    assert len([o for o in gateway.sent if o.msgtype == "m.notice"]) == 1


@pytest.mark.parametrize(("late", "sent"), [(timedelta(hours=23), 1), (timedelta(hours=25), 0)])
async def test_missed_digest_sent_at_start_if_less_than_a_day_late(
        deps: Deps, gateway: FakeGateway, clock: Clock, late, sent) -> None:  # noqa: ANN001
    clock.now = SLOT + late
    await new_sender(deps).catch_up()
    assert len([o for o in gateway.sent if o.msgtype == "m.notice"]) == sent


def test_slots_keep_their_wall_clock_across_dst(deps: Deps) -> None:
    sender = new_sender(deps)
    # Berlin moves to summer time on Sunday 28 March 2027
    after = sender.last_slot(datetime(2027, 3, 29, 12, 0, tzinfo=UTC))
    before = sender.last_slot(datetime(2027, 3, 28, 12, 0, tzinfo=UTC))
    assert after == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert before == datetime(2027, 3, 22, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert sender.week_of(after, "Europe/Berlin") == "2027-W13"
    trigger = sender.trigger()
    fire = trigger.get_next_fire_time(None, datetime(2027, 3, 23, tzinfo=UTC))
    assert fire.astimezone(UTC) == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)


async def test_activity_counts_messages_not_content(deps: Deps, clock: Clock) -> None:
    counter = ActivityCounter(deps, deps.config.section(DigestConfig))
    for i in range(3):
        await counter.on_event(Message(f"$a{i}", DES, "@ala:x", "secret text"))
    await counter.on_event(Message("$b", DES, "@sbcc:test", "bot"))
    await counter.on_event(Message("$c", DES, "@ala:x", "n", msgtype="m.notice"))
    await counter.on_event(Message("$d", "!elsewhere", "@ala:x", "x"))
    async with deps.db.session() as s:
        rows = [(r.room_id, r.day, r.count) for r in (await s.scalars(select(RoomActivity)))]
    assert rows == [(DES, date(2027, 3, 1), 3)]


async def test_digest_commands(deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await seed(deps)
    out = await driver.send("!digest preview 14", sender="@coord:test", room_id=PAR)
    assert any(o.msgtype == "m.image" for o in out)
    assert any("Annual Forum" in o.body for o in out)
    [denied] = await driver.send("!digest preview", sender="@ala:x")
    assert denied.body.startswith("⚠️")
    await driver.send("!digest subscribe sv", sender="@coord:test", room_id=DES)
    await driver.send("!digest unsubscribe", sender="@coord:test", room_id=PAR)
    assert await new_sender(deps).targets() == [(DES, "sv")]


async def test_the_features_job_posts_the_weekly_digest(deps: Deps,
                                                        gateway: FakeGateway) -> None:
    await seed(deps)
    [job] = [job for job in wire(deps).jobs if job.id == "digest"]
    fire = job.trigger.get_next_fire_time(None, SLOT - timedelta(days=1))
    assert fire.astimezone(UTC) == SLOT  # Monday 09:00 in the configured timezone
    await job.func()
    assert [o.room_id for o in gateway.sent if o.msgtype == "m.notice"] == [PAR]


async def test_rooms_named_by_key_each_get_it_in_their_language(make_deps, clock: Clock  # noqa: ANN001
                                                               ) -> None:
    clock.now = SLOT + timedelta(minutes=5)
    deps = await make_deps(network=NETWORK,
                           digest={**DIGEST, "rooms": ["partners", "rostock", "design"]})
    sender = new_sender(deps)
    # the room's language as provisioned; the topic room has none: the default
    assert await sender.targets() == [(PAR, "de"), (ROS, "de"), (DES, "en")]
    async with deps.db.session() as s:
        await RoomSettingsService(s).set(DES, language="lt")
        await DigestSubscriptions(s).subscribe(ROS, "sv")  # a subscription's language wins
        await DigestSubscriptions(s).subscribe(SZN, None)
    assert await sender.targets() == [(PAR, "de"), (ROS, "sv"), (DES, "lt"), (SZN, "pl")]
    assert await sender.language_for(DES) == "lt"
    assert await sender.language_for("!elsewhere:test") == "en"


async def test_status_changes_read_as_the_collaborations_name_them(
        deps: Deps, translator: Translator) -> None:
    await seed(deps)
    text = (await compose(deps, "de")).text
    status = translator.gettext(STATUS_LABELS["active"], "de")
    assert translator.gettext("Status changes to “%(status)s”: %(num)d", "de",
                              status=status, num=1) in text


async def test_collaborations_appear_once_everyone_named_confirmed(deps: Deps) -> None:
    """Not confirmed by everyone: neither listed nor counted, its status changes neither.
    Confirmed by the last of them in this week: new this week, wherever it was recorded."""
    day, week_before = SLOT - timedelta(days=2), SLOT - timedelta(days=9)
    async with deps.db.session() as s:
        pending = Collaboration(title="Not asked yet", status="active", origin="direct",
                                created_by="@a:x", created_at=day)
        late = Collaboration(title="Confirmed late", status="planned", origin="direct",
                             created_by="@a:x", created_at=week_before)
        earlier = Collaboration(title="Confirmed before", status="planned", origin="direct",
                                created_by="@a:x", created_at=week_before)
        s.add_all([pending, late, earlier])
        await s.flush()
        s.add_all([
            CollaborationMember(collaboration_id=pending.id, mxid="@a:x", confirmed_at=day),
            CollaborationMember(collaboration_id=pending.id, mxid="@victim:x"),
            CollaborationMember(collaboration_id=late.id, mxid="@a:x",
                                confirmed_at=week_before),
            CollaborationMember(collaboration_id=late.id, mxid="@b:x", confirmed_at=day),
            CollaborationMember(collaboration_id=earlier.id, mxid="@a:x",
                                confirmed_at=week_before),
            CollaborationMember(collaboration_id=earlier.id, mxid="@b:x",
                                confirmed_at=week_before),
            CollaborationEvent(collaboration_id=pending.id, at=day, by="@a:x", kind="status",
                               status="active"),
        ])
    text = (await compose(deps)).text
    assert "Not asked yet" not in text and "@victim" not in text
    assert "Status changes" not in text
    assert "1 new collaboration, 0% across borders." in text
    assert "#2 Confirmed late" in text and "Confirmed before" not in text


async def test_a_location_no_longer_configured(deps: Deps) -> None:
    day = SLOT - timedelta(days=2)
    async with deps.db.session() as s:
        s.add(NetworkRoom(key="location:gdansk", kind="location", room_id="!gdansk:test",
                          alias=None, updated_at=day))
        s.add(RoomMembership(room_id="!gdansk:test", mxid="@g:x", since=day, imported=False))
        s.add(RoomActivity(room_id="!gdansk:test", day=day.date(), count=4))
    digest = await compose(deps, chart=True)
    assert "gdansk: 1" in digest.text  # its joins, named by its key
    assert "gdansk: 4" not in digest.text  # not among the network's rooms any more
    assert digest.chart is not None and "gdansk" not in (digest.chart_alt or "")


def advisory_request(n: int, sector: str, status: str, created: datetime, **times: object
                     ) -> AdvisoryRequest:
    return AdvisoryRequest(ref=f"ADV-{n}", secret_hash="x" * 64, organisation="Org",
                           email="a@b.example", sector=sector, question="q" * 20,
                           language="en", status=status, created_at=created, **times)


async def test_advisory_requests_section(deps: Deps, clock: Clock) -> None:
    """New this week by sector; open in all: every request not closed yet, whenever it came."""
    async with deps.db.session() as s:
        for i, (sector, status, days) in enumerate([("design", "new", 2), ("design", "new", 3),
                                                    ("heritage", "answered", 1),
                                                    ("tourism", "new", 30),
                                                    ("media", "claimed", 20),
                                                    ("games", "closed", 40)]):
            s.add(advisory_request(i, sector, status, SLOT - timedelta(days=days)))
    text = (await compose(deps)).text
    assert "3 new requests this week; 5 open in all." in text
    assert "Design: 2" in text and "Museums and heritage: 1" in text
    assert "Media" not in text and "Games" not in text
    assert "Org" not in text and "ADV-" not in text
    # nothing was claimed, answered, closed or rated this week: no such lines
    for said in ("claimed this week", "answered this week", "closed this week", "rating"):
        assert said not in text


def advisory_week() -> list[AdvisoryRequest]:
    """Requests that moved in the week before SLOT, and some that moved before it."""
    day, hour = timedelta(days=1), timedelta(hours=1)
    a = SLOT - 10 * day  # claimed before the week, answered, closed and rated in it
    b, c, e = SLOT - 4 * day, SLOT - 3 * day, SLOT - 6 * day  # arrived this week
    d, f = SLOT - 20 * day, SLOT - 30 * day  # closed before; reopened and claimed again
    return [
        advisory_request(1, "design", "closed", a, claimed_at=a + 3 * hour,
                         answered_at=a + 5 * day, closed_at=SLOT - 2 * day, outcome="helped",
                         rating=4, rated_at=SLOT - day),
        advisory_request(2, "design", "answered", b, claimed_at=b + 2 * hour,
                         answered_at=b + day),
        advisory_request(3, "heritage", "claimed", c, claimed_at=c + 6 * hour),
        advisory_request(4, "design", "closed", d, claimed_at=d + day,
                         answered_at=d + 2 * day, closed_at=SLOT - 9 * day,
                         outcome="referred", rating=1, rated_at=SLOT - 9 * day),
        advisory_request(5, "media", "closed", e, claimed_at=e + 10 * hour,
                         closed_at=SLOT - day, outcome="no_reply", rating=2,
                         rated_at=SLOT - day),
        advisory_request(6, "design", "claimed", f, claimed_at=f + day,
                         closed_at=SLOT - 2 * day, outcome="declined"),
    ]


async def test_advisory_requests_week_figures(deps: Deps) -> None:
    async with deps.db.session() as s:
        s.add_all(advisory_week())
    text = (await compose(deps)).text
    # 2, 3 and 5 arrived this week; 2 is answered, 3 and 6 claimed: open
    assert "3 new requests this week; 3 open in all." in text
    # claimed this week: 2 after 2 hours, 5 after 10, 3 after 6 (1 was claimed before)
    assert ("3 requests claimed this week, a median of 6 hours after they arrived."
            in text)
    # answered this week: 1 after 5 days, 2 after 1 day; the median is 3 days
    assert ("2 requests answered this week, a median of 3 days after they arrived."
            in text)
    # closed this week: 1 and 5 (6 was, but it is open again; 4 was closed before)
    assert "2 requests closed this week: helped: 1, no reply: 1." in text
    assert "2 ratings this week: 3.0 of 5 on average." in text  # 4 and 2, not 4's 1
    lines = text.splitlines()
    order = [next(i for i, line in enumerate(lines) if said in line)
             for said in ("Design: 1", "claimed this week", "answered this week",
                          "closed this week", "ratings this week")]
    assert order == sorted(order)
    polish = (await compose(deps, "pl")).text
    assert "6 godzin" in polish and "3 dni" in polish


async def test_advisory_requests_with_only_a_rating_this_week(deps: Deps) -> None:
    """No new or open request, but a rating came this week: the section says just that."""
    created = SLOT - timedelta(days=40)
    async with deps.db.session() as s:
        s.add(advisory_request(1, "design", "closed", created,
                               closed_at=SLOT - timedelta(days=30), outcome="helped",
                               rating=5, rated_at=SLOT - timedelta(days=1)))
    text = (await compose(deps)).text
    assert "0 new requests this week; 0 open in all." in text
    assert "1 rating this week: 5.0 of 5 on average." in text
    for said in ("claimed this week", "answered this week", "closed this week"):
        assert said not in text


def test_cli_prints_a_preview(tmp_path) -> None:  # noqa: ANN001
    import subprocess
    import sys

    config = tmp_path / "c.yaml"
    config.write_text(
        "matrix: {homeserver: 'http://h', user_id: '@a:b', access_token: tok}\n"
        f"database: {{url: 'sqlite+aiosqlite:///{tmp_path / 'd.db'}'}}\n"
        "network: {name: Preview Net}\n")
    result = subprocess.run([sys.executable, "-m", "bot", "digest", "--config", str(config),
                             "--preview", "--lang", "de"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Preview Net")
    assert "Woche" in result.stdout
