"""Forums: creation in local time, announcements, RSVPs by reaction and command, capacity
and waiting list, and reminders sent exactly once by a controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Announcement, ForumEvent, Reminder, Rsvp
from bot.deps import Deps
from bot.dispatcher import Dispatcher
from bot.errors import BadArgument
from bot.events import Reaction, Redaction
from bot.features.forums.config import ForumsConfig, parse_offset
from bot.features.forums.messages import ForumMessages
from bot.features.forums.reminders import ReminderSender
from bot.features.forums.service import (
    ForumService,
    local_start,
    parse_clock,
    parse_day,
    reminder_due,
)
from tests.conftest import Clock, network, room_id
from tests.fakes import Driver, FakeGateway

SZN, ROS = room_id("location:szczecin"), room_id("location:rostock")
DES, PAR = room_id("topic:design"), room_id("partners")
COORD = "@coord:test"


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    return await make_deps(network=network("szczecin", "rostock", topics=("design",),
                                            partners="en"),
                           forums={"reminders": ["7d", "1d", "2h"], "grace": "6h",
                                   "announce_topics": ["design"]})


@pytest.fixture
def reminders(deps: Deps) -> ReminderSender:
    return ReminderSender(deps, deps.config.section(ForumsConfig),
                          ForumMessages(deps.config.network, deps.config.command_prefix))


@pytest.fixture
def reactions(dispatcher: Dispatcher) -> Dispatcher:
    """Reactions and redactions go to every listener, as the sync loop hands them over."""
    return dispatcher


async def add_event(driver: Driver, extra: str = "") -> ForumEvent:
    out = await driver.send(f"!forum add 2027-05-14 10:00 szczecin Annual Forum 2027 {extra}",
                            sender=COORD)
    assert "#1" in out[-1].body, out[-1].body
    async with driver.dispatcher.deps.db.session() as s:
        return (await s.scalars(select(ForumEvent))).one()


async def announcement(deps: Deps, room: str) -> str:
    async with deps.db.session() as s:
        return (await s.scalars(select(Announcement.matrix_event_id).where(
            Announcement.room_id == room))).one()


async def rows(deps: Deps, model):  # noqa: ANN001, ANN201
    async with deps.db.session() as s:
        return list((await s.scalars(select(model))).all())


def start(day: str, at: str, tz: str) -> datetime:
    return local_start(parse_day(day), parse_clock(at), tz)


def test_local_time_and_the_missing_hour() -> None:
    assert start("2027-05-14", "10:00", "Europe/Warsaw") == datetime(2027, 5, 14, 8, 0,
                                                                     tzinfo=UTC)
    with pytest.raises(BadArgument):
        start("2027-03-28", "02:30", "Europe/Warsaw")  # clocks jump from 2 to 3
    with pytest.raises(BadArgument):
        start("2027-13-01", "10:00", "Europe/Warsaw")
    with pytest.raises(BadArgument):
        start("2027-05-01", "25:00", "Europe/Warsaw")


@pytest.mark.parametrize(("start_utc", "offset", "due_utc"), [
    # Monday 29 March 2027, 10:00 CEST; summer time began on Sunday 28th at 02:00
    (datetime(2027, 3, 29, 8, 0, tzinfo=UTC), "1d", datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),
    (datetime(2027, 3, 29, 8, 0, tzinfo=UTC), "7d", datetime(2027, 3, 22, 9, 0, tzinfo=UTC)),
    (datetime(2027, 3, 29, 8, 0, tzinfo=UTC), "2h", datetime(2027, 3, 29, 6, 0, tzinfo=UTC)),
    # Monday 1 November 2027, 10:00 CET; summer time ended on Sunday 31 October at 03:00
    (datetime(2027, 11, 1, 9, 0, tzinfo=UTC), "1d", datetime(2027, 10, 31, 9, 0, tzinfo=UTC)),
    (datetime(2027, 11, 1, 9, 0, tzinfo=UTC), "7d", datetime(2027, 10, 25, 8, 0, tzinfo=UTC)),
    (datetime(2027, 11, 1, 9, 0, tzinfo=UTC), "30m", datetime(2027, 11, 1, 8, 30, tzinfo=UTC)),
])
def test_reminders_keep_the_wall_clock_across_dst(start_utc, offset, due_utc) -> None:  # noqa: ANN001
    assert reminder_due(start_utc, "Europe/Warsaw", parse_offset(offset)) == due_utc


async def test_add_announces_with_reactions_and_plans_room_reminders(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    event = await add_event(driver, "--capacity 40 --online https://meet.example/forum")
    assert (event.capacity, event.online_url) == (40, "https://meet.example/forum")
    assert event.starts_at == datetime(2027, 5, 14, 8, 0, tzinfo=UTC)
    posts = [o for o in gateway.sent if o.msgtype == "m.notice" and "Annual Forum" in o.body
             and o.room_id != "!room:test"]  # not the reply
    assert {o.room_id for o in posts} == {SZN, PAR, DES}
    szn = next(o for o in posts if o.room_id == SZN)
    assert "pt." in szn.body and "10:00" in szn.body  # Polish room, Warsaw time
    keys = sorted(o.body for o in gateway.sent if o.msgtype == "m.reaction")
    assert keys == sorted(["✅", "🤔", "❌"] * 3)
    reminders = await rows(deps, Reminder)
    assert sorted(r.offset for r in reminders) == ["1d", "2h", "7d"]
    assert {r.target for r in reminders} == {SZN}


async def test_add_refuses_non_coordinators_and_bad_input(driver: Driver, deps: Deps) -> None:
    [denied] = await driver.send("!forum add 2027-05-14 10:00 szczecin X")
    assert denied.body.startswith("⚠️")
    [past] = await driver.send("!forum add 2020-01-01 10:00 szczecin X", sender=COORD)
    assert "past" in past.body
    [where] = await driver.send("!forum add 2027-05-14 10:00 paris X", sender=COORD)
    assert "szczecin" in where.body
    [short] = await driver.send("!forum add 2027-05-14 10:00", sender=COORD)
    assert "YYYY-MM-DD" in short.body
    assert await rows(deps, ForumEvent) == []


async def test_rsvp_by_reaction_and_withdraw_by_redaction(
        deps: Deps, driver: Driver, reactions: Dispatcher) -> None:
    await add_event(driver)
    post = await announcement(deps, SZN)
    await reactions.on_event(Reaction("$r1", SZN, "@ala:x", post, "✅"))
    [row] = await rows(deps, Rsvp)
    assert (row.mxid, row.answer, row.room_id) == ("@ala:x", "yes", SZN)
    assert {r.target for r in await rows(deps, Reminder)} == {SZN, "@ala:x"}
    await reactions.on_event(Reaction("$r2", SZN, "@ala:x", post, "🤔"))
    [row] = await rows(deps, Rsvp)
    assert row.answer == "maybe"
    await reactions.on_event(Redaction("$d1", SZN, "@ala:x", "$r1"))  # the old ✅
    assert len(await rows(deps, Rsvp)) == 1
    await reactions.on_event(Redaction("$d2", SZN, "@bob:x", "$r2"))  # not bob's
    assert len(await rows(deps, Rsvp)) == 1
    await reactions.on_event(Redaction("$d3", SZN, "@ala:x", "$r2"))
    assert await rows(deps, Rsvp) == []
    assert {r.target for r in await rows(deps, Reminder)} == {SZN}


async def test_capacity_waitlist_and_promotion(deps: Deps, driver: Driver,
                                               reactions: Dispatcher,
                                               gateway: FakeGateway, clock: Clock) -> None:
    await add_event(driver, "--capacity 1")
    post = await announcement(deps, SZN)
    await reactions.on_event(Reaction("$r1", SZN, "@ala:x", post, "✅"))
    clock.now += timedelta(minutes=1)
    await reactions.on_event(Reaction("$r2", SZN, "@bob:x", post, "✅"))
    clock.now += timedelta(minutes=1)
    [third] = await driver.send("!rsvp 1 yes", sender="@cid:x")
    assert "waiting" in third.body
    waiting = {r.mxid: r.waitlisted for r in await rows(deps, Rsvp)}
    assert waiting == {"@ala:x": False, "@bob:x": True, "@cid:x": True}
    gateway.sent.clear()
    await reactions.on_event(Redaction("$d1", SZN, "@ala:x", "$r1"))
    waiting = {r.mxid: r.waitlisted for r in await rows(deps, Rsvp)}
    assert waiting == {"@bob:x": False, "@cid:x": True}
    [news] = gateway.sent
    assert news.mentions == ("@bob:x",) and "Annual Forum 2027" in news.body
    [full] = await driver.send("!forum 1")
    assert "1" in full.body and "waiting: 1" in full.body


async def test_rsvp_command_answers_and_errors(deps: Deps, driver: Driver) -> None:
    await add_event(driver)
    [yes] = await driver.send("!rsvp 1 maybe")
    assert "Annual Forum 2027" in yes.body
    [bad] = await driver.send("!rsvp 1 perhaps")
    assert "yes" in bad.body
    [missing] = await driver.send("!rsvp 9 yes")
    assert "9" in missing.body
    await driver.send("!rsvp 1 withdraw")
    assert await rows(deps, Rsvp) == []


async def test_member_reminder_once_in_their_language(
        deps: Deps, driver: Driver, reminders: ReminderSender, gateway: FakeGateway,
        clock: Clock) -> None:
    await driver.send("!lang de", sender="@udo:x")
    await add_event(driver)
    await driver.send("!rsvp 1 yes", sender="@udo:x", room_id=ROS)
    due = {(r.offset, r.target): r for r in await rows(deps, Reminder)}[("7d", "@udo:x")]
    clock.now = due.due_at + timedelta(minutes=1)
    gateway.sent.clear()
    await reminders.fire(due.id)
    [sent] = gateway.sent
    assert sent.room_id == ROS and sent.mentions == ("@udo:x",)
    assert "Fr." in sent.body and "10:00" in sent.body  # German, Warsaw time (no tz set)
    await reminders.fire(due.id)
    await reminders.catch_up()  # (also sends the room's own 7d reminder, due as well)
    assert [o for o in gateway.sent if o.mentions == ("@udo:x",)] == [sent]
    state = {r.id: r.state for r in await rows(deps, Reminder)}
    assert state[due.id] == "sent"


async def test_due_while_down_sent_within_grace_else_missed(
        deps: Deps, driver: Driver, reminders: ReminderSender, gateway: FakeGateway,
        clock: Clock) -> None:
    await add_event(driver)
    by_offset = {r.offset: r for r in await rows(deps, Reminder)}
    clock.now = by_offset["1d"].due_at + timedelta(hours=5)  # 7d is long past, 1d within 6h
    gateway.sent.clear()
    await reminders.catch_up()
    state = {r.offset: r.state for r in await rows(deps, Reminder)}
    assert state == {"7d": "missed", "1d": "sent", "2h": "pending"}
    assert len(gateway.sent) == 1 and "1" in gateway.sent[0].body


async def test_restart_between_sending_and_sent_sends_once(
        deps: Deps, driver: Driver, reminders: ReminderSender, gateway: FakeGateway,
        clock: Clock) -> None:
    await add_event(driver)
    row = {r.offset: r for r in await rows(deps, Reminder)}["7d"]
    clock.now = row.due_at
    async with deps.db.session() as s:
        (await s.get(Reminder, row.id)).state = "sending"
    gateway.sent.clear()
    await reminders._send(row.id)  # the first run got this far, then died
    await reminders.catch_up()  # the restart
    assert len(gateway.sent) == 1
    assert {r.id: r.state for r in await rows(deps, Reminder)}[row.id] == "sent"


async def test_edit_reschedules_and_notifies_cancel_clears(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await add_event(driver)
    await driver.send("!rsvp 1 yes", sender="@ala:x", room_id=SZN)
    await driver.send("!rsvp 1 no", sender="@bob:x", room_id=SZN)
    before = {r.offset: r.due_at for r in await rows(deps, Reminder) if r.target == "@ala:x"}
    gateway.sent.clear()
    out = await driver.send("!forum edit 1 time 14:30", sender=COORD)
    after = {r.offset: r.due_at for r in await rows(deps, Reminder) if r.target == "@ala:x"}
    assert after["7d"] - before["7d"] == timedelta(hours=4, minutes=30)
    notice = next(o for o in out if o.mentions == ("@ala:x",))
    assert "14:30" in notice.body
    gateway.sent.clear()
    out = await driver.send("!forum cancel 1", sender=COORD)
    assert any(o.mentions == ("@ala:x",) for o in out)
    assert all(r.state != "pending" for r in await rows(deps, Reminder))
    [closed] = await driver.send("!rsvp 1 yes", sender="@cid:x")
    assert closed.body.startswith("⚠️")


async def test_forums_list_in_reader_timezone(deps: Deps, driver: Driver) -> None:
    await add_event(driver)
    await driver.send("!set tz Europe/Vilnius", sender="@ala:x")
    [out] = await driver.send("!forums", sender="@ala:x")
    assert "11:00" in out.body and "#1 Annual Forum 2027" in out.body


async def test_attendees_by_location(deps: Deps, driver: Driver) -> None:
    await add_event(driver)
    await driver.send("!set location rostock", sender="@udo:x")
    await driver.send("!rsvp 1 yes", sender="@udo:x")
    await driver.send("!rsvp 1 maybe", sender="@ala:x")
    [out] = await driver.send("!attendees 1", sender=COORD)
    assert "Rostock: 1" in out.body and "@udo:x" in out.html and "@ala:x" in out.html


async def test_forum_ics_is_uploaded_as_a_file(deps: Deps, driver: Driver,
                                               gateway: FakeGateway) -> None:
    from icalendar import Calendar

    await add_event(driver)
    [out] = await driver.send("!forum ics 1")
    [(_room, data, mimetype, filename)] = gateway.uploads
    assert mimetype == "text/calendar" and filename.endswith(".ics")
    content = out.content()
    assert content["msgtype"] == "m.file" and content["url"] == "mxc://test/1"
    [vevent] = Calendar.from_ical(data).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Annual Forum 2027"


async def test_odd_event_numbers_get_a_clear_answer(driver: Driver) -> None:
    for raw in ("99999999999999999999", "²", "#-1"):
        [out] = await driver.send(f"!rsvp {raw} yes")
        assert out.body.startswith("⚠️") and "Something went wrong" not in out.body


async def test_a_room_that_refuses_the_reminder_marks_it_missed(
        deps: Deps, driver: Driver, reminders: ReminderSender, gateway: FakeGateway,
        clock: Clock) -> None:
    await add_event(driver)
    row = {r.offset: r for r in await rows(deps, Reminder)}["7d"]
    clock.now = row.due_at
    gateway.refuse.add(SZN)  # answers M_FORBIDDEN
    await reminders.catch_up()  # never raises: the bot must start
    assert {r.id: r.state for r in await rows(deps, Reminder)}[row.id] == "missed"


# -- the shape of the commands ---------------------------------------------------------------


async def test_forum_shows_one_event_and_names_its_subcommands(deps: Deps,
                                                              driver: Driver) -> None:
    await add_event(driver, "--capacity 40 --online https://meet.example/forum")
    [card] = await driver.send("!forum #1")
    assert card.body.splitlines()[:1] == ["#1 Annual Forum 2027"]
    assert "Szczecin (PL) + online: https://meet.example/forum" in card.body
    assert "Places: 0 of 40; waiting: 0" in card.body and "!rsvp 1 yes|maybe|no" in card.body
    [odd] = await driver.send("!forum frobnicate")
    assert "“frobnicate” is not an event number." in odd.body
    assert "!forum add" in odd.body and "!forum ics" in odd.body  # the usage of each form
    [member] = await driver.send("!help forum")
    assert "!forum ics <id>" in member.body and "!forum add" not in member.body
    [coordinator] = await driver.send("!help forum", sender=COORD)
    for usage in ("!forum <id>",
                  "!forum add <YYYY-MM-DD> <HH:MM> <location> <title…> [--capacity <N>] "
                  "[--online <URL>]", "!forum edit <id> <date|time|title|capacity> <value…>",
                  "!forum cancel <id>", "!forum ics <id>"):
        assert usage in coordinator.body


async def test_add_reads_its_flags_and_a_quoted_title(deps: Deps, driver: Driver,
                                                      gateway: FakeGateway) -> None:
    [bad] = await driver.send("!forum add 2027-05-14 10:00 szczecin X --capacity 100001",
                              sender=COORD)
    assert "“100001” is not a number of places." in bad.body
    [bad] = await driver.send("!forum add 2027-05-14 10:00 szczecin X --online ftp://x",
                              sender=COORD)
    assert "“ftp://x” is not a web address." in bad.body
    [bad] = await driver.send("!forum add 14.05.2027 10:00 szczecin X", sender=COORD)
    assert "“14.05.2027” is not a date like 2027-05-14." in bad.body
    assert await rows(deps, ForumEvent) == []
    out = await driver.send('!forum add 2027-05-14 10:00 Szczecin --capacity unlimited '
                            '"Annual  Forum" 2027', sender=COORD)
    assert "Announced in 3 rooms." in out[-1].body
    [event] = await rows(deps, ForumEvent)
    assert (event.title, event.location, event.capacity) == ("Annual Forum 2027", "szczecin",
                                                              None)
    par = next(o for o in gateway.sent if o.room_id == PAR and o.msgtype == "m.notice")
    assert "Szczecin (PL)" in par.body and "!rsvp 1 yes|maybe|no" in par.body
    assert "places" not in par.body  # no capacity, no count of places


async def test_a_no_by_command_lets_the_waiting_in_as_a_reaction_does(
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await add_event(driver, "--capacity 1")
    await driver.send("!rsvp 1 yes", sender="@ala:x", room_id=SZN)
    clock.now += timedelta(minutes=1)
    [waiting] = await driver.send("!rsvp 1 yes", sender="@bob:x", room_id=PAR)
    assert "waiting list" in waiting.body
    out = await driver.send("!rsvp 1 no", sender="@ala:x", room_id=SZN)
    news, reply = out
    assert news.room_id == PAR and news.mentions == ("@bob:x",) and "🎉" in news.body
    assert reply.body == "Twoja odpowiedź na „Annual Forum 2027”: nie."  # the room's Polish
    assert {r.target for r in await rows(deps, Reminder)} == {SZN, "@bob:x"}


async def test_edit_capacity_lets_the_waiting_in_and_a_cancelled_event_stays(
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await add_event(driver, "--capacity 1")
    await driver.send("!rsvp 1 yes", sender="@ala:x", room_id=SZN)
    clock.now += timedelta(minutes=1)
    await driver.send("!rsvp 1 yes", sender="@bob:x", room_id=SZN)
    out = await driver.send("!forum edit 1 capacity 2", sender=COORD)
    changed = next(o for o in out if "✏️" in o.body)
    assert set(changed.mentions) == {"@ala:x", "@bob:x"}
    promoted = next(o for o in out if "🎉" in o.body)
    assert promoted.mentions == ("@bob:x",)
    assert not any(r.waitlisted for r in await rows(deps, Rsvp))
    [bad] = await driver.send("!forum edit 1 colour red", sender=COORD)
    assert "“colour” cannot be edited" in bad.body
    await driver.send("!forum cancel 1", sender=COORD)
    [again] = await driver.send("!forum cancel 1", sender=COORD)
    assert again.body == "⚠️ “Annual Forum 2027” is already cancelled."
    [edit] = await driver.send("!forum edit 1 title New", sender=COORD)
    assert edit.body == "⚠️ “Annual Forum 2027” is cancelled."
    [denied] = await driver.send("!forum cancel 1")
    assert denied.body == "⚠️ Only coordinators may use this command."


async def test_the_room_reminder_speaks_the_rooms_language(
        deps: Deps, driver: Driver, reminders: ReminderSender, gateway: FakeGateway,
        clock: Clock) -> None:
    await add_event(driver)
    row = {r.offset: r for r in await rows(deps, Reminder)}["7d"]
    clock.now = row.due_at
    gateway.sent.clear()
    await reminders.fire(row.id)
    [sent] = gateway.sent
    assert sent.room_id == SZN and sent.mentions == ()
    assert sent.body.startswith("⏰") and "pt." in sent.body  # Polish, as the room speaks
    assert "Szczecin" in sent.body and "!rsvp 1 yes" in sent.body


# -- one workflow, whoever starts it ---------------------------------------------------------


class Timer:
    """Stands in for the reminder timer: records which events it was asked to reset."""

    def __init__(self) -> None:
        self.reset: list[int | None] = []

    async def schedule(self, forum_id: int | None = None) -> None:
        self.reset.append(forum_id)


def service(deps: Deps, session: AsyncSession, timer: Timer) -> ForumService:
    return ForumService(session, deps, deps.config.section(ForumsConfig), timer,
                        ForumMessages(deps.config.network, deps.config.command_prefix))


async def test_an_answer_resets_the_timers_only_once_committed(
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await add_event(driver, "--capacity 1")
    timer = Timer()
    async with deps.db.session() as s:
        await service(deps, s, timer).answer(1, "@ala:x", "yes", room_id=SZN, cause="$a")
        clock.now += timedelta(minutes=1)
        await service(deps, s, timer).answer(1, "@bob:x", "yes", room_id=SZN, cause="$b")
        assert timer.reset == []  # nothing committed yet
    assert timer.reset == [1, 1]
    gateway.sent.clear()
    with pytest.raises(RuntimeError):
        async with deps.db.session() as s:
            result = await service(deps, s, timer).answer(1, "@ala:x", "withdraw",
                                                          room_id=SZN, cause="$c")
            assert [r.mxid for r in result.promoted] == ["@bob:x"]
            raise RuntimeError("rolled back")
    assert timer.reset == [1, 1]
    assert {r.mxid: r.waitlisted for r in await rows(deps, Rsvp)} == {"@ala:x": False,
                                                                       "@bob:x": True}


async def test_commands_and_reactions_set_the_reminder_timers(
        deps: Deps, driver: Driver, reactions: Dispatcher) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    deps.scheduler = AsyncIOScheduler(timezone="UTC")  # not started: its jobs stay pending

    def timers() -> set[str]:
        assert deps.scheduler is not None
        return {job.id for job in deps.scheduler.get_jobs()}

    await add_event(driver)
    room = {f"reminder:1:{r.id}" for r in await rows(deps, Reminder)}
    assert len(room) == 3 and timers() == room
    post = await announcement(deps, SZN)
    await reactions.on_event(Reaction("$r1", SZN, "@ala:x", post, "✅"))
    ala = {f"reminder:1:{r.id}" for r in await rows(deps, Reminder) if r.target == "@ala:x"}
    assert len(ala) == 3 and timers() == room | ala
    await driver.send("!forum edit 1 time 25:00", sender=COORD)  # refused: nothing changes
    assert timers() == room | ala
    await reactions.on_event(Redaction("$d1", SZN, "@ala:x", "$r1"))
    assert timers() == room
    await driver.send("!forum cancel 1", sender=COORD)
    assert timers() == set()


# -- hostile input -------------------------------------------------------------------------------


async def test_dates_far_in_the_past_or_future_are_refused(deps: Deps, driver: Driver) -> None:
    for day in ("0001-01-01", "1970-01-01", "2026-11-25"):  # today is 2026-11-27
        [out] = await driver.send(f"!forum add {day} 10:00 szczecin Old", sender=COORD)
        assert out.body == "⚠️ That time is in the past.", day
    for day in ("9999-06-01", "9999-12-31", "2036-11-28"):
        [out] = await driver.send(f"!forum add {day} 10:00 szczecin Far", sender=COORD)
        assert out.body == (f"⚠️ “{day}” is too far ahead: events can be planned until "
                            "2036-11-27."), day
    assert await rows(deps, ForumEvent) == []
    await driver.send("!forum add 2036-11-27 10:00 szczecin Ten years on", sender=COORD)
    [event] = await rows(deps, ForumEvent)
    assert event.starts_at.year == 2036
    [far] = await driver.send("!forum edit 1 date 9999-06-01", sender=COORD)
    assert far.body.startswith("⚠️ “9999-06-01” is too far ahead")
    [old] = await driver.send("!forum edit 1 date 0001-01-01", sender=COORD)
    assert old.body == "⚠️ The new time is in the past."
    [kept] = await rows(deps, ForumEvent)
    assert kept.starts_at == event.starts_at


async def test_huge_event_numbers_are_no_such_event(driver: Driver) -> None:
    await add_event(driver)
    for command in ("!rsvp 99999999999 yes", "!forum 0", "!forum #2147483648",
                    "!forum ics 99999999999999999999", "!attendees 4294967296",
                    "!forum cancel 99999999999", "!forum edit 99999999999 title X"):
        [out] = await driver.send(command, sender=COORD)
        number = command.split()[-1] if command.startswith(("!forum 0", "!forum #")) else \
            next(w for w in command.split() if w.isdigit())
        assert out.body == f"⚠️ There is no event number {number.lstrip('#')}.", command
    [unknown] = await driver.send("!rsvp 7 yes")  # an unknown number reads the same
    assert unknown.body == "⚠️ There is no event number 7."


async def test_a_title_cannot_ping_the_room_or_reorder_text(deps: Deps, driver: Driver,
                                                            gateway: FakeGateway) -> None:
    from bot.events import ROOM_PING

    out = await driver.send("!forum add 2027-05-14 10:00 szczecin @room \u202eparty\u202c now",
                            sender=COORD)
    assert "Event #1" in out[-1].body
    [event] = await rows(deps, ForumEvent)
    assert event.title == "@room party now"  # bidi controls are gone
    posts = [o for o in gateway.sent if o.msgtype == "m.notice"]
    assert len(posts) == 4  # three rooms and the answer
    for post in posts:
        content = post.content()
        assert not ROOM_PING.search(content["body"])
        assert not ROOM_PING.search(content.get("formatted_body") or "")


async def test_a_broken_row_never_breaks_the_calendar_feed(deps: Deps, driver: Driver,
                                                           clock: Clock) -> None:
    from aiohttp.test_utils import TestClient, TestServer
    from icalendar import Calendar

    from tests.conftest import web_app

    await add_event(driver)
    async with deps.db.session() as s:  # as an older version could write it
        s.add(ForumEvent(title="Far", location="szczecin", timezone="Europe/Warsaw",
                         starts_at=datetime(9999, 6, 1, 8, 0, tzinfo=UTC), capacity=None,
                         online_url=None, status="scheduled", created_by=COORD,
                         created_at=clock(), trigger="$far"))
    async with TestClient(TestServer(web_app(deps))) as client:
        feed = await client.get("/calendar.ics")
        assert feed.status == 200
        summaries = [str(v["SUMMARY"]) for v in
                     Calendar.from_ical(await feed.read()).walk("VEVENT")]
        assert summaries == ["Annual Forum 2027"]
        one = await client.get("/forums/2.ics")
        assert one.status == 200
        assert Calendar.from_ical(await one.read()).walk("VEVENT") == []
    [agenda] = await driver.send("!forums")
    assert "Annual Forum 2027" in agenda.body and not agenda.body.startswith("⚠️")
    [card] = await driver.send("!forum 2")
    assert "Far" in card.body and not card.body.startswith("⚠️")


# -- a member's own data -----------------------------------------------------------------------


def events_part(deps: Deps):  # noqa: ANN201
    from bot.app import wire

    return next(p for p in wire(deps).personal_data if p.name == "events")


async def test_forgetting_a_member_frees_their_place_for_the_waiting_list(
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await add_event(driver, "--capacity 1")
    await driver.send("!rsvp 1 yes", sender="@ala:x", room_id=SZN)
    clock.now += timedelta(minutes=1)
    await driver.send("!rsvp 1 yes", sender="@bob:x", room_id=PAR)
    part = events_part(deps)
    async with deps.db.session() as s:
        [mine] = await part.export(s, "@ala:x")
        [planned] = await part.export(s, COORD)
    assert (mine["event"], mine["answer"], mine["waiting_list"]) == (1, "yes", False)
    assert sorted(r["before"] for r in mine["reminders"]) == ["1d", "2h", "7d"]
    assert planned["planned_by_you"] and planned["answer"] is None
    gateway.sent.clear()
    async with deps.db.session() as s:
        touched = await part.erase(s, "@ala:x", "@former-1:invalid")
    assert touched == 1  # the answer (its pending reminders went with it)
    [news] = gateway.sent
    assert news.room_id == PAR and news.mentions == ("@bob:x",) and "🎉" in news.body
    assert {r.mxid: r.waitlisted for r in await rows(deps, Rsvp)} == {"@bob:x": False}
    assert {r.target for r in await rows(deps, Reminder)} == {SZN, "@bob:x"}
    async with deps.db.session() as s:
        assert await part.export(s, "@ala:x") == []
        assert await part.erase(s, COORD, "@former-2:invalid") == 1
    [event] = await rows(deps, ForumEvent)
    assert event.created_by == "@former-2:invalid"


async def test_forgetting_erases_sent_reminders_and_past_answers_quietly(
        deps: Deps, driver: Driver, reminders: ReminderSender, gateway: FakeGateway,
        clock: Clock) -> None:
    await add_event(driver, "--capacity 1")
    await driver.send("!rsvp 1 yes", sender="@ala:x", room_id=SZN)
    clock.now += timedelta(minutes=1)
    await driver.send("!rsvp 1 yes", sender="@bob:x", room_id=SZN)
    due = {(r.offset, r.target): r for r in await rows(deps, Reminder)}[("7d", "@ala:x")]
    clock.now = due.due_at
    await reminders.fire(due.id)
    clock.now = datetime(2027, 5, 15, tzinfo=UTC)  # the event is over
    gateway.sent.clear()
    async with deps.db.session() as s:
        assert await events_part(deps).erase(s, "@ala:x", "@former-1:invalid") >= 2
    assert gateway.sent == []  # nobody is let in to an event that is over
    assert [r.mxid for r in await rows(deps, Rsvp)] == ["@bob:x"]
    assert "@ala:x" not in {r.target for r in await rows(deps, Reminder)}


async def test_forget_me_in_a_command_promotes_once_even_when_run_again(
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    from bot.features.forums.service import ForumService

    await add_event(driver, "--capacity 1")
    await driver.send("!rsvp 1 yes", sender="@ala:x", room_id=SZN)
    clock.now += timedelta(minutes=1)
    await driver.send("!rsvp 1 yes", sender="@bob:x", room_id=SZN)
    gateway.sent.clear()
    for _attempt in range(2):  # interrupted before its commit, then run again
        async with deps.db.session() as s:
            forums = ForumService(s, deps, deps.config.section(ForumsConfig), Timer(),
                                  ForumMessages(deps.config.network, deps.config.command_prefix))
            await forums.forget("@ala:x", "@former-1:invalid")
            await s.rollback()
    assert len(gateway.sent) == 1 and gateway.sent[0].mentions == ("@bob:x",)
