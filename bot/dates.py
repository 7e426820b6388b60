"""Dates and times for people: in their timezone, in their language (Babel)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_skeleton, format_timedelta

# British English writes European dates the European way and knows CET/CEST.
DATE_LOCALES = {"en": "en_GB"}


def date_locale(locale: str) -> str:
    return DATE_LOCALES.get(locale, locale)


def event_time(when: datetime, tz_name: str, locale: str) -> str:
    """"Fri 14 May 2027, 10:00 CEST" in the reader's language and timezone."""
    tz = ZoneInfo(tz_name)
    loc = date_locale(locale)
    day = format_skeleton("yMMMEd", when, tzinfo=tz, locale=loc)
    return f"{day}, {format_datetime(when, 'HH:mm z', tzinfo=tz, locale=loc)}"


def relative(when: datetime, now: datetime, locale: str) -> str:
    """"in 3 weeks", "2 days ago"."""
    return format_timedelta(when - now, add_direction=True, locale=date_locale(locale))
