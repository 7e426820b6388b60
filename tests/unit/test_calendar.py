"""The ICS export: parsed back with icalendar, every field checked; no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from bot.app import parse_config
from bot.db.models import ForumEvent
from bot.features.forums.calendar import DEFAULT_DURATION, PRODID, calendar_ics, event_filename
from rooms.topology import NetworkConfig
from tests.conftest import base_config
from tests.conftest import network as network_section

NOW = datetime(2027, 1, 15, 8, 30, tzinfo=UTC)
# 10:00 in Warsaw on 20 May 2027 (CEST, UTC+2)
START = datetime(2027, 5, 20, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def network() -> NetworkConfig:
    section = network_section("szczecin", "rostock", name="Test Clusters")
    return parse_config(base_config(network=section), environ={}).network


def forum(id: int = 12, title: str = "Annual Forum 2027", *, location: str = "szczecin",
          timezone: str = "Europe/Warsaw", starts_at: datetime = START,
          online_url: str | None = None, status: str = "scheduled") -> ForumEvent:
    return ForumEvent(id=id, title=title, location=location, timezone=timezone,
                      starts_at=starts_at, capacity=50, online_url=online_url, status=status,
                      created_by="@coord:test", created_at=datetime(2027, 1, 2, tzinfo=UTC),
                      trigger=f"$cmd{id}")


def parse(data: bytes) -> Calendar:
    assert isinstance(data, bytes)
    return Calendar.from_ical(data)


def only_event(cal: Calendar) -> Event:
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def build(events: list[ForumEvent], network: NetworkConfig, **kw: object) -> bytes:
    kw.setdefault("server_name", "sbcc.test")
    kw.setdefault("now", NOW)
    return calendar_ics(events, network, **kw)  # type: ignore[arg-type]


def test_calendar_properties(network: NetworkConfig) -> None:
    cal = parse(build([forum()], network))
    assert str(cal["PRODID"]) == PRODID
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]) == "Test Clusters"
    assert str(cal["NAME"]) == "Test Clusters"
    named = parse(build([forum()], network, name="Forums, Szczecin"))
    assert str(named["X-WR-CALNAME"]) == "Forums, Szczecin"


def test_event_fields(network: NetworkConfig) -> None:
    ev = only_event(parse(build([forum()], network, public_url="https://bot.example/")))
    assert str(ev["UID"]) == "forum-12@sbcc.test"
    assert ev["DTSTAMP"].dt == NOW
    assert ev["DTSTAMP"].dt.utcoffset() == timedelta(0)
    assert str(ev["SUMMARY"]) == "Annual Forum 2027"
    assert str(ev["LOCATION"]) == "Szczecin, PL"
    assert str(ev["URL"]) == "https://bot.example/forums/12.ics"
    assert "Szczecin, PL" in str(ev["DESCRIPTION"])
    assert "Online" not in str(ev["DESCRIPTION"])
    assert str(ev["STATUS"]) == "CONFIRMED"
    assert ev["SEQUENCE"] == 0
    assert ev["CREATED"].dt == datetime(2027, 1, 2, tzinfo=UTC)


def test_start_is_local_time_with_tzid_and_the_same_instant(network: NetworkConfig) -> None:
    data = build([forum()], network)
    assert b"DTSTART;TZID=Europe/Warsaw:20270520T100000\r\n" in data
    ev = only_event(parse(data))
    start, end = ev["DTSTART"].dt, ev["DTEND"].dt
    assert (start.hour, start.minute) == (10, 0)
    assert start.tzinfo is not None
    assert str(ev["DTSTART"].params["TZID"]) == "Europe/Warsaw"
    assert start == START
    assert start.utcoffset() == timedelta(hours=2)
    assert end - start == DEFAULT_DURATION
    assert (end.hour, end.minute) == (12, 0)
    assert str(ev["DTEND"].params["TZID"]) == "Europe/Warsaw"


def test_vtimezone_for_each_timezone_used(network: NetworkConfig) -> None:
    events = [forum(1), forum(2, location="rostock", timezone="Europe/Berlin"),
              forum(3, starts_at=START + timedelta(days=200))]
    cal = parse(build(events, network))
    tzids = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    assert tzids == ["Europe/Berlin", "Europe/Warsaw"]
    warsaw = next(tz for tz in cal.walk("VTIMEZONE") if str(tz["TZID"]) == "Europe/Warsaw")
    names = {str(sub["TZNAME"]) for sub in warsaw.subcomponents}
    assert {"CET", "CEST"} <= names
    # the VTIMEZONEs come before the events that use them
    kinds = [c.name for c in cal.subcomponents]
    assert kinds == ["VTIMEZONE", "VTIMEZONE", "VEVENT", "VEVENT", "VEVENT"]
    # the December event (winter time) is still 10:00 local
    dec = next(e for e in cal.walk("VEVENT") if str(e["UID"]).startswith("forum-3@"))
    assert dec["DTSTART"].dt.hour == 9  # 08:00 UTC is 09:00 CET
    assert dec["DTSTART"].dt == START + timedelta(days=200)


def test_no_events_gives_an_empty_calendar(network: NetworkConfig) -> None:
    cal = parse(build([], network))
    assert cal.walk("VEVENT") == [] and cal.walk("VTIMEZONE") == []


def test_online_event(network: NetworkConfig) -> None:
    url = "https://meet.example/forum?x=1;y=2"
    ev = only_event(parse(build([forum(online_url=url)], network,
                                public_url="https://bot.example")))
    assert str(ev["URL"]) == url  # the online link wins over the .ics link
    assert str(ev["LOCATION"]) == f"Szczecin, PL / online: {url}"
    description = str(ev["DESCRIPTION"])
    assert "Szczecin, PL" in description and url in description


def test_no_url_without_online_link_or_public_url(network: NetworkConfig) -> None:
    ev = only_event(parse(build([forum()], network)))
    assert "URL" not in ev


def test_unsafe_online_url_is_left_out(network: NetworkConfig) -> None:
    bad = "https://x.example/a\r\nBEGIN:VALARM"
    data = build([forum(online_url=bad)], network)
    ev = only_event(parse(data))
    assert "URL" not in ev
    assert str(ev["LOCATION"]) == "Szczecin, PL"
    assert b"BEGIN:VALARM" not in data


def test_cancelled(network: NetworkConfig) -> None:
    ev = only_event(parse(build([forum(status="cancelled")], network)))
    assert str(ev["STATUS"]) == "CANCELLED"
    assert ev["SEQUENCE"] == 1
    assert str(ev["UID"]) == "forum-12@sbcc.test"  # same UID: the app updates its copy


def test_title_is_escaped(network: NetworkConfig) -> None:
    title = "Forum, part 1; day 2\nBEGIN:VEVENT\\x"
    data = build([forum(title=title)], network)
    assert b"SUMMARY:Forum\\, part 1\\; day 2\\nBEGIN:VEVENT\\\\x\r\n" in data
    assert data.count(b"\r\nBEGIN:VEVENT\r\n") == 1  # the title did not inject a line
    ev = only_event(parse(data))
    assert str(ev["SUMMARY"]) == title


def test_control_characters_are_dropped(network: NetworkConfig) -> None:
    data = build([forum(title="a\x00b\x07c\r\nd")], network)
    assert str(only_event(parse(data))["SUMMARY"]) == "abc\nd"
    assert b"\x00" not in data and b"\x07" not in data


def test_deterministic(network: NetworkConfig) -> None:
    events = [forum(1), forum(2, location="rostock", timezone="Europe/Berlin"),
              forum(3, status="cancelled", online_url="https://m.example/x")]
    first = build(events, network, public_url="https://bot.example")
    assert first == build(list(reversed(events)), network, public_url="https://bot.example")
    assert first != build(events, network, public_url="https://bot.example",
                          now=NOW + timedelta(seconds=1))


def test_events_sorted_by_start(network: NetworkConfig) -> None:
    late = forum(1, starts_at=START + timedelta(days=30))
    early = forum(2)
    uids = [str(e["UID"]) for e in parse(build([late, early], network)).walk("VEVENT")]
    assert uids == ["forum-2@sbcc.test", "forum-1@sbcc.test"]


def test_unknown_location_and_timezone_fall_back(network: NetworkConfig) -> None:
    ev = only_event(parse(build([forum(location="gone", timezone="Nowhere/City")], network)))
    assert str(ev["LOCATION"]) == "gone"
    assert ev["DTSTART"].dt == START
    assert "TZID" not in ev["DTSTART"].params  # UTC, written with Z


def test_bad_timezone_uses_the_locations(network: NetworkConfig) -> None:
    data = build([forum(location="rostock", timezone="Nowhere/City")], network)
    ev = only_event(parse(data))
    assert str(ev["DTSTART"].params["TZID"]) == "Europe/Berlin"
    assert ev["DTSTART"].dt.tzinfo == ZoneInfo("Europe/Berlin")


def test_event_without_id_is_refused(network: NetworkConfig) -> None:
    event = forum()
    event.id = None  # type: ignore[assignment]
    with pytest.raises(ValueError):
        build([event], network)


@pytest.mark.parametrize(("title", "expected"), [
    ("Annual Forum 2027", "forum-12-annual-forum-2027.ics"),
    ("Forum Łódź 2027", "forum-12-forum-lodz-2027.ics"),
    ("Gdańsk — Straße / Øresund: Æble?", "forum-12-gdansk-strasse-oresund-aeble.ics"),
    ("../../etc/passwd", "forum-12-etc-passwd.ics"),
    ("😀 ???", "forum-12.ics"),
    ("", "forum-12.ics"),
])
def test_event_filename(title: str, expected: str) -> None:
    assert event_filename(forum(title=title)) == expected


def test_event_filename_is_short_and_cut_at_a_word() -> None:
    name = event_filename(forum(title="Creative industries " * 10))
    assert name.isascii() and name.endswith(".ics")
    slug = name.removeprefix("forum-12-").removesuffix(".ics")
    assert len(slug) <= 60
    assert slug.endswith(("creative", "industries"))
    assert not slug.endswith("-")


@pytest.mark.parametrize("starts_at", [
    datetime(9999, 6, 1, 8, 0, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 0, tzinfo=UTC),  # its end would be past the last date
    datetime(1, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2200, 1, 1, 8, 0, tzinfo=UTC),  # writable, but nobody attends it: no huge VTIMEZONE
])
def test_an_event_that_cannot_be_written_is_left_out(network: NetworkConfig,
                                                     starts_at: datetime) -> None:
    far = forum(13, "Far away", starts_at=starts_at)
    cal = parse(build([forum(), far], network))
    assert [str(ev["SUMMARY"]) for ev in cal.walk("VEVENT")] == ["Annual Forum 2027"]
    [tz] = cal.walk("VTIMEZONE")
    assert len(tz.to_ical()) < 2000  # the years of the events written, not of the one left out
    alone = parse(build([far], network))  # alone, it gives an empty calendar
    assert alone.walk("VEVENT") == [] and alone.walk("VTIMEZONE") == []


def test_an_event_in_ten_years_is_written(network: NetworkConfig) -> None:
    later = datetime(2037, 1, 10, 9, 0, tzinfo=UTC)
    ev = only_event(parse(build([forum(starts_at=later)], network)))
    assert ev["DTSTART"].dt == later
