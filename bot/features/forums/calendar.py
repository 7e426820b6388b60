"""iCalendar (RFC 5545) export of the network's events: one `.ics` for a single forum or a
whole feed.

Pure: no database, no I/O, no clock. The caller loads the `ForumEvent` rows and passes the
current time as `now` (it becomes DTSTAMP), so the same input gives byte-identical output.

- UID is ``forum-<id>@<server_name>``: stable, so a calendar app that imported an event
  updates it on the next download instead of adding a copy.
- DTSTART/DTEND are written in the event's own timezone (``TZID=Europe/Warsaw``) with a
  VTIMEZONE for every timezone used, covering only the years of the events (the full
  1970–2038 history would be kilobytes of RDATEs). An unknown timezone falls back to the
  location's, then to UTC (``...Z``, no VTIMEZONE).
- SEQUENCE is 0 while scheduled and 1 once cancelled: the only change the table records.
  (Rescheduling an event without a new revision counter leaves SEQUENCE at 0; most apps
  still take the newer DTSTAMP, strict ones may not.)
- Titles are user text: control characters are dropped and icalendar escapes ``, ; \\``
  and newlines. An ``online_url`` that is not a plain http(s) URL is left out, since a URI
  value cannot be escaped (icalendar refuses CR/LF in it).
- An event that cannot be written — one starting more than `WRITABLE_SPAN` from `now` (say
  in the year 9999, where neither its end nor its VTIMEZONE can be computed), or whose
  fields break the writer — is left out (and logged), so one bad row never costs a
  subscriber the whole feed.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, Timezone

if TYPE_CHECKING:
    from bot.db.models import ForumEvent
    from rooms.topology import NetworkConfig

log = logging.getLogger(__name__)
PRODID = "-//sbcc-bot//South Baltic Creative Clusters//EN"
DEFAULT_DURATION = timedelta(hours=2)
CANCELLED = "cancelled"
MAX_SLUG_LENGTH = 60
# Events further than this from `now` are not written: nobody attends them, and the
# VTIMEZONE covering them would be huge (or, near the year 9999, impossible).
WRITABLE_SPAN = timedelta(days=100 * 365)

_URL_RE = re.compile(r"https?://[^\s\x00-\x1f\x7f<>\"]+", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # keeps \t and \n
# letters NFKD does not decompose to ASCII
_TRANSLIT = str.maketrans({
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ø": "O", "ø": "o", "ß": "ss", "Æ": "AE",
    "æ": "ae", "Œ": "OE", "œ": "oe", "Þ": "Th", "þ": "th", "Ð": "D", "ð": "d", "ı": "i",
})


def calendar_ics(events: Sequence[ForumEvent], network: NetworkConfig, *, server_name: str,
                 public_url: str | None = None, name: str | None = None,
                 now: datetime) -> bytes:
    """One VCALENDAR with a VEVENT per event (sorted by start, then id) and the VTIMEZONEs
    they use. `now` (aware) is the DTSTAMP of every event; `public_url` (the bot's web
    base, if any) gives events without an online link a URL to their own `.ics`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal_name = _text(name or network.name)
    cal.add("name", cal_name)  # RFC 7986
    cal.add("x-wr-calname", cal_name)

    ordered = sorted(events, key=lambda e: (_utc(e.starts_at), e.id or 0))
    written: list[tuple[ForumEvent, Event]] = []
    for event in ordered:
        vevent = _writable(event, network, server_name=server_name, public_url=public_url,
                           now=now)
        if vevent is not None:
            written.append((event, vevent))
    tzids = sorted({str(v["DTSTART"].params["TZID"]) for _e, v in written
                    if "TZID" in v["DTSTART"].params})
    if tzids:
        first = min(_utc(e.starts_at) for e, _v in written) - timedelta(days=1)
        last = max(_utc(e.starts_at) for e, _v in written) + DEFAULT_DURATION + timedelta(
            days=1)
        first_date, last_date = date(first.year, 1, 1), date(last.year + 1, 1, 1)
        for tzid in tzids:
            try:
                cal.add_component(Timezone.from_tzid(tzid, first_date=first_date,
                                                     last_date=last_date))
            except (ValueError, OverflowError) as exc:  # then its events are not written
                log.warning("calendar: no VTIMEZONE for %s (%s); its events left out",
                            tzid, exc)
                written = [(e, v) for e, v in written
                           if str(v["DTSTART"].params.get("TZID")) != tzid]
    for _event, vevent in written:
        cal.add_component(vevent)
    return cal.to_ical()


def _writable(event: ForumEvent, network: NetworkConfig, *, server_name: str,
              public_url: str | None, now: datetime) -> Event | None:
    """The event's VEVENT, or None (logged) when it cannot be written."""
    if event.id is None:
        raise ValueError("the event has no id yet (flush it before exporting)")
    try:
        if abs(_utc(event.starts_at) - now) > WRITABLE_SPAN:
            raise ValueError(f"it starts on {event.starts_at:%Y-%m-%d}")
        return _vevent(event, network, server_name=server_name, public_url=public_url,
                       now=now)
    except (ValueError, OverflowError, TypeError) as exc:
        log.warning("calendar: event %d left out: %s", event.id, exc)
        return None


def event_filename(event: ForumEvent) -> str:
    """A safe ASCII file name: ``forum-12-annual-forum-2027.ics`` (the title's slug is at
    most `MAX_SLUG_LENGTH` characters, cut at a word; ``forum-12.ics`` if nothing is left)."""
    slug = _slug(event.title or "")
    return f"forum-{event.id}-{slug}.ics" if slug else f"forum-{event.id}.ics"


def event_uid(event: ForumEvent, server_name: str) -> str:
    return f"forum-{event.id}@{server_name}"


def _vevent(event: ForumEvent, network: NetworkConfig, *, server_name: str,
            public_url: str | None, now: datetime) -> Event:
    if event.id is None:
        raise ValueError("the event has no id yet (flush it before exporting)")
    tz = _event_tz(event, network)
    start_utc = _utc(event.starts_at)
    place = _place(event, network)
    online = _safe_url(event.online_url)
    cancelled = event.status == CANCELLED

    vevent = Event()
    vevent.add("uid", event_uid(event, server_name))
    vevent.add("dtstamp", now.astimezone(UTC))
    if event.created_at is not None:
        vevent.add("created", _utc(event.created_at))
    vevent.add("dtstart", start_utc.astimezone(tz))
    # absolute duration: the end is right even across a DST change
    vevent.add("dtend", (start_utc + DEFAULT_DURATION).astimezone(tz))
    vevent.add("summary", _text(event.title or ""))
    vevent.add("location", f"{place} / online: {online}" if online else place)
    description = [f"Place: {place}"]
    if online:
        description.append(f"Online: {online}")
    vevent.add("description", "\n".join(description))
    url = online or (f"{public_url.rstrip('/')}/forums/{event.id}.ics"
                     if public_url and _safe_url(public_url) else None)
    if url:
        vevent.add("url", url)
    vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    vevent.add("sequence", 1 if cancelled else 0)
    vevent.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return vevent


def _event_tz(event: ForumEvent, network: NetworkConfig) -> tzinfo:
    spec = network.location_by_key.get(event.location)
    for key in (event.timezone, spec.timezone if spec else None):
        if not key:
            continue
        try:
            tz = ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return UTC if key in ("UTC", "Etc/UTC", "Etc/Universal", "Etc/Zulu", "Zulu") else tz
    return UTC


def _place(event: ForumEvent, network: NetworkConfig) -> str:
    spec = network.location_by_key.get(event.location)
    if spec is None:
        return _text(event.location)
    return f"{spec.name}, {spec.country}" if spec.country else spec.name


def _utc(value: datetime) -> datetime:
    """The database gives aware UTC; a naive value (an unsaved object) is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _text(value: str) -> str:
    """TEXT without control characters (RFC 5545 allows only HTAB; newlines are escaped)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_RE.sub("", value)


def _safe_url(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    return value if _URL_RE.fullmatch(value) else None


def _slug(title: str) -> str:
    ascii_title = (unicodedata.normalize("NFKD", title.translate(_TRANSLIT))
                   .encode("ascii", "ignore").decode("ascii").lower())
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title).strip("-")
    if len(slug) > MAX_SLUG_LENGTH:
        cut = slug[:MAX_SLUG_LENGTH + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:MAX_SLUG_LENGTH]
        slug = slug.strip("-")
    return slug
