"""Events: the forums with their RSVPs and the reminders they plan."""

from __future__ import annotations

from datetime import time as wall_clock
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.db.models import ForumEvent, Reminder, Rsvp
from bot.features.forums.config import ForumsConfig
from bot.features.forums.service import local_start, reminder_due
from bot.sample.people import Generator
from bot.sample.writing import Writer, next_id
from rooms.network import room_key

MAX_ANSWERS = 2_000  # RSVPs per event, however large the network


async def write_forums(writer: Writer, gen: Generator, config: Config,
                       rooms: dict[str, str]) -> tuple[int, ...]:
    """The annual forum (three weeks ahead, with a capacity), an online meetup (nine days
    ahead) and a workshop three weeks ago, with answers and the reminders they plan."""
    rng = gen.rng(5)
    forums_config = config.section(ForumsConfig)
    first = await next_id(writer.session, ForumEvent)
    by = config.coordinators[0] if config.coordinators else gen.ids[0]
    n_loc = len(gen.locations)
    year = gen.now.year
    plans = [
        (f"{gen.network.name} Forum {year}", gen.locations[0], 21, "10:00",
         max(10, round(gen.count * 0.25)), None, 0.45),
        ("Cross-border matchmaking breakfast", gen.locations[2 % n_loc], 9, "09:00", None,
         "https://meet.example.org/sbcc-breakfast", 0.15),
        ("Workshop: funding for creative projects", gen.locations[1 % n_loc], -20, "14:00",
         40, None, 0.1),
    ]
    events: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    reminders: list[dict[str, Any]] = []
    ids = []
    for n, (title, spec, days, clock, capacity, url, share) in enumerate(plans):
        fid = first + n
        tz = spec.timezone or "UTC"
        day = (gen.now + timedelta(days=days)).astimezone(ZoneInfo(tz)).date()
        hh, mm = (int(x) for x in clock.split(":"))
        starts = local_start(day, wall_clock(hh, mm), tz)
        created = min(gen.now - timedelta(days=2), starts - timedelta(days=30))
        events.append({"id": fid, "title": title, "location": spec.key, "timezone": tz,
                       "starts_at": starts, "capacity": capacity, "online_url": url,
                       "status": "scheduled", "created_by": by, "created_at": created,
                       "trigger": f"$sample-forum-{fid}-{gen.seed}:{gen.server}"})
        ids.append(fid)
        count = min(MAX_ANSWERS, round(gen.count * share))
        chosen = sorted(rng.sample(range(gen.count), min(count, gen.count)))
        rows = []
        for m in chosen:
            x = rng.random()
            answer = "yes" if x < 0.6 else "maybe" if x < 0.85 else "no"
            answered = created + (min(gen.now, starts) - created) * rng.random()
            p_loc = gen.locations[gen.location_of(m)]
            rows.append({"forum_id": fid, "mxid": gen.ids[m], "answer": answer,
                         "waitlisted": False, "answered_at": answered,
                         "room_id": rooms.get(room_key(p_loc)), "reaction_event_id": None})
        if capacity is not None:  # first come, first served; the rest wait in line
            taken = 0
            for row in sorted(rows, key=lambda r: (r["answered_at"], r["mxid"])):
                if row["answer"] == "yes":
                    row["waitlisted"] = taken >= capacity
                    taken += 1
        answers.extend(rows)
        targets = [r["mxid"] for r in rows if r["answer"] in ("yes", "maybe")
                   and not r["waitlisted"]]
        room_id = rooms.get(room_key(spec))
        if room_id:
            targets.append(room_id)
        for offset in forums_config.reminders:
            due = reminder_due(starts, tz, offset)
            if due > gen.now:
                reminders.extend({"forum_id": fid, "offset": offset.text, "target": t,
                                  "due_at": due, "state": "pending", "sent_at": None}
                                 for t in targets)
    await writer.add(ForumEvent, events)
    await writer.add(Rsvp, answers)
    await writer.add(Reminder, reminders)
    return tuple(ids)
