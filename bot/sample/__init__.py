"""A living network to look at and to measure: sample members, their profiles, rooms,
connections, collaborations, events and activity, deterministic from a seed. Used by
`sbcc-bot demo --sample` and by the benchmarks.

    sample = await fill(db, config, members=40, seed=7)             # invented accounts
    sample = await fill(db, config, user_ids=registered, seed=7)    # real accounts
    await starter_profile(db, config, "@coordinator:demo", sample)  # `!match` answers at once

`fill(db, config, *, members=40, seed=7, now=None, user_ids=None,
server="sample.sbcc.example") -> Sample` writes, in one transaction, rows as the bot's own
services write them (same columns, same status values):

- `members` — one per person: a plausible name for their location's country, their
  organisation, location, language (the room's, as arrivals set it, or English), timezone,
  spoken languages, `first_seen` over the last half year (about one in seven within the
  last week), a bio and `intro_at` for half of them (most newcomers), `connect_ok` (mostly on),
  `rounds` (about a third) and `showcase` consent (about a third; three in four of those in a
  collaboration — nobody is on the showcase without it). The members are `user_ids` when
  given (then `members` is their count), else invented `@first.last:<server>`.
- `member_tags` — 1–4 offers and 1–3 needs each, from the configured topic tags and tag
  synonyms (sometimes written as a local synonym, "wideo"), with a long tail of compound
  tags ("documentary film") that grows with the network; `canonical` after the synonyms,
  `location` copied, as `ProfileService.add_tags` does.
- `network_rooms` — the provisioned rooms are used as they are; in a database where none is
  recorded (tests, benchmarks) stand-ins `!sample-<key>:<server>` are recorded, with their
  room settings, as provisioning would.
- `room_memberships` — everyone in their location room since `first_seen` (not imported:
  they arrived), and in the topic rooms their tags meet; a few topic stays ended (leave).
- `connections` — about one per four members (one in five in the last week), `origin`
  "connect", mostly across borders between someone who needs a tag and someone who offers
  it (`room_id` empty: no room was opened for sample members).
- `collaborations` with their members and history — about one per five members, two or
  three people each, most from a connection; planned, active, done or dropped; the
  recorder confirmed, most others confirmed later, some not yet (then shown to its
  members only, never on the showcase or in the digest).
- `forum_events` with `rsvps` and `reminders` — the annual forum about three weeks ahead
  with a capacity (extra yeses wait in line), an online meetup in about nine days, a
  workshop three weeks ago; pending reminders planned as `ForumService.plan_reminders`
  would (at most 2 000 answers per event, however large the network).
- `room_activity` — messages per day in the location and topic rooms over the last eight
  weeks (added to any counts already there).

Not written: introduction cards and event announcements (they point at Matrix messages that
do not exist), matchmaking rounds (the bot would open rooms for them), advisory requests
and strategies.

A second `fill` over the same accounts writes nothing: when any of its members is already
in the database it returns at once with `Sample.filled` False. Fast for large networks:
members are generated in chunks and written with bulk `insert()`s (no ORM objects), on
SQLite and PostgreSQL; each member is a pure function of (seed, index), so relations are
drawn without keeping whole profiles in memory.
"""

from bot.sample.filling import fill
from bot.sample.starter import starter_profile
from bot.sample.summary import Sample

__all__ = ["Sample", "fill", "starter_profile"]
