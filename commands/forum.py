"""!forum, !forums, !rsvp, !attendees — the network's forums and events."""

from __future__ import annotations

import re
from collections import Counter

from bot.context import Context, txn_base
from bot.dates import event_time, relative
from bot.errors import BadArgument, UsageError, UserError
from bot.features.forums.messages import CANCELLED, CHANGED, PROMOTED, announce, notify, place_of
from bot.features.forums.reminders import ReminderSender
from bot.features.forums.service import (
    ANSWERS,
    ForumService,
    clean_title,
    local_start,
    parse_capacity,
)
from bot.formatting import escape, markup, pill
from bot.framework.checks import coordinator, is_coordinator
from bot.framework.command import Rest, check, command
from bot.framework.parsing import tokenize
from bot.i18n import N_

FORUM_ACTIONS = "add, edit, cancel, ics"


def _forum_id(raw: str) -> int:
    digits = raw.lstrip("#")
    if not re.fullmatch(r"[0-9]{1,9}", digits):  # also keeps huge numbers from the database
        raise BadArgument(N_("“%(value)s” is not an event number."), value=raw)
    return int(digits)


async def _reschedule(ctx: Context, forum_id: int) -> None:
    sender = ReminderSender(ctx.deps)
    ctx.after_commit(lambda: sender.schedule(forum_id))


@command("forums", help=N_("Upcoming events, in your timezone and language."))
async def forums(ctx: Context) -> None:
    events = await ForumService(ctx.session, ctx.deps).upcoming()
    if not events:
        await ctx.reply(ctx._(N_("No events are planned yet.")))
        return
    me = await ctx.services.members.get(ctx.sender)
    lines, items = [], []
    for event in events:
        tz = (me.timezone if me else None) or event.timezone
        when = event_time(event.starts_at, tz, ctx.locale)
        soon = relative(event.starts_at, ctx.deps.clock(), ctx.locale)
        place = place_of(ctx.deps, event)
        lines.append(f"#{event.id} {event.title} — {when} — {soon} — {place}")
        items.append(markup("<li><b>#%(id)s %(t)s</b> — %(w)s — %(s)s — %(p)s</li>",
                            id=event.id, t=event.title, w=when, s=soon, p=place))
    title = ctx._(N_("Upcoming events:"))
    await ctx.reply("\n".join([title, *lines]), escape(title) + "<ul>" + "".join(items)
                    + "</ul>")


@command("forum", help=N_("One event in detail (!forum <id>); coordinators also add, edit, "
                          "cancel; ics gives a calendar file."))
async def forum(ctx: Context, action: str, details: Rest = "") -> None:
    word = action.casefold()
    if word == "add":
        await _add(ctx, details)
    elif word == "edit":
        await _edit(ctx, details)
    elif word == "cancel":
        await _cancel(ctx, details)
    elif word == "ics":
        await _ics(ctx, details)
    elif word.lstrip("#").isdigit():
        await _show(ctx, _forum_id(word))
    else:
        raise UsageError(N_("“%(value)s” is not an event number or one of: %(actions)s."),
                         value=action, actions=FORUM_ACTIONS)


async def _require_coordinator(ctx: Context) -> None:
    if not await is_coordinator(ctx):
        raise UserError(coordinator.denied)


def _parse_add(ctx: Context, text: str) -> dict:
    tokens = [t.text for t in tokenize(text)]
    capacity, online, rest = None, None, []
    i = 0
    while i < len(tokens):
        if tokens[i] in ("--capacity", "--online"):
            if i + 1 >= len(tokens):
                raise UsageError(N_("%(flag)s needs a value."), flag=tokens[i])
            if tokens[i] == "--capacity":
                capacity = parse_capacity(tokens[i + 1])
            else:
                online = tokens[i + 1]
                if not online.startswith(("https://", "http://")):
                    raise BadArgument(N_("“%(value)s” is not a web address."), value=online)
            i += 2
            continue
        rest.append(tokens[i])
        i += 1
    if len(rest) < 4:
        raise UsageError(N_("Write it as: %(usage)s"),
                         usage=f"{ctx.prefix}forum add YYYY-MM-DD HH:MM <location> <title> "
                               "[--capacity N] [--online URL]")
    day, clock, location, *title = rest
    network = ctx.deps.config.network
    key = location.casefold()
    if key not in network.location_by_key:
        raise BadArgument(N_("“%(value)s” is not one of the locations: %(choices)s."),
                          value=location, choices=", ".join(network.location_by_key))
    tz = network.location_by_key[key].timezone or "UTC"
    starts = local_start(day, clock, tz)
    if starts <= ctx.deps.clock():
        raise UserError(N_("That time is in the past."))
    return {"title": clean_title(" ".join(title)), "location": key, "starts_at": starts,
            "capacity": capacity, "online_url": online}


async def _add(ctx: Context, details: str) -> None:
    await _require_coordinator(ctx)
    values = _parse_add(ctx, details)
    service = ForumService(ctx.session, ctx.deps)
    event = await service.create(**values, by=ctx.sender, trigger=ctx.message.event_id)
    rooms = await announce(ctx.deps, ctx.session, event, txn_base(ctx.message.event_id))
    await _reschedule(ctx, event.id)
    when = event_time(event.starts_at, event.timezone, ctx.locale)
    text = ctx._(N_("Event #%(id)d is planned: “%(title)s”, %(date)s."), id=event.id,
                 title=event.title, date=when)
    text += " " + ctx.ngettext("Announced in %(num)d room.", "Announced in %(num)d rooms.",
                               len(rooms))
    await ctx.reply(text)


async def _show(ctx: Context, forum_id: int) -> None:
    service = ForumService(ctx.session, ctx.deps)
    event = await service.get(forum_id)
    counts = await service.counts(event)
    me = await ctx.services.members.get(ctx.sender)
    tz = (me.timezone if me else None) or event.timezone
    lines = [f"#{event.id} {event.title}",
             f"{event_time(event.starts_at, tz, ctx.locale)} — "
             f"{relative(event.starts_at, ctx.deps.clock(), ctx.locale)}",
             place_of(ctx.deps, event)]
    if event.status == "cancelled":
        lines.append(ctx._(N_("This event is cancelled.")))
    lines.append(ctx._(N_("Yes: %(yes)d · maybe: %(maybe)d · no: %(no)d"), yes=counts.yes,
                       maybe=counts.maybe, no=counts.no))
    if event.capacity is not None:
        lines.append(ctx._(N_("Places: %(taken)d of %(capacity)d; waiting: %(waiting)d"),
                           taken=counts.yes, capacity=event.capacity, waiting=counts.waiting))
    lines.append(ctx._(N_("Answer with %(usage)s."),
                       usage=f"{ctx.prefix}rsvp {event.id} yes|maybe|no"))
    await ctx.reply("\n".join(lines))


async def _edit(ctx: Context, details: str) -> None:
    await _require_coordinator(ctx)
    parts = details.split(None, 2)
    if len(parts) < 3:
        raise UsageError(N_("Write it as: %(usage)s"),
                         usage=f"{ctx.prefix}forum edit <id> date|time|title|capacity <value>")
    service = ForumService(ctx.session, ctx.deps)
    event = await service.get(_forum_id(parts[0]))
    if event.status == "cancelled":
        raise UserError(N_("“%(title)s” is cancelled."), title=event.title)
    promoted = await service.change(event, parts[1].casefold(), parts[2])
    base = txn_base(ctx.message.event_id)
    await notify(ctx.deps, ctx.session, event, await service.interested(event), CHANGED,
                 f"{base}.changed")
    if promoted:
        await notify(ctx.deps, ctx.session, event, promoted, PROMOTED, f"{base}.promoted")
    await _reschedule(ctx, event.id)
    await ctx.reply(ctx._(N_("Event #%(id)d is updated; everyone who answered yes or maybe is "
                             "told."), id=event.id))


async def _cancel(ctx: Context, details: str) -> None:
    await _require_coordinator(ctx)
    if not details.strip():
        raise UsageError(N_("Write it as: %(usage)s"), usage=f"{ctx.prefix}forum cancel <id>")
    service = ForumService(ctx.session, ctx.deps)
    event = await service.get(_forum_id(details.split()[0]))
    await service.cancel(event)
    await notify(ctx.deps, ctx.session, event, await service.interested(event), CANCELLED,
                 f"{txn_base(ctx.message.event_id)}.cancelled")
    await _reschedule(ctx, event.id)
    await ctx.reply(ctx._(N_("Event #%(id)d is cancelled; everyone who answered yes or maybe "
                             "is told."), id=event.id))


async def _ics(ctx: Context, details: str) -> None:
    from bot.features.forums.calendar import calendar_ics, event_filename

    if not details.strip():
        raise UsageError(N_("Write it as: %(usage)s"), usage=f"{ctx.prefix}forum ics <id>")
    event = await ForumService(ctx.session, ctx.deps).get(_forum_id(details.split()[0]))
    data = calendar_ics([event], ctx.deps.config.network,
                        server_name=ctx.deps.config.matrix.server_name, now=ctx.deps.clock())
    await ctx.send_file(ctx.room_id, data, event_filename(event), "text/calendar")


@command("rsvp", help=N_("Answer an event: yes, maybe or no (withdraw to take it back)."))
async def rsvp(ctx: Context, forum_id: str, answer: str) -> None:
    word = answer.casefold()
    service = ForumService(ctx.session, ctx.deps)
    event = await service.get(_forum_id(forum_id))
    if word in ("withdraw", "none", "-"):
        result = await service.withdraw(event, ctx.sender)
        message = ctx._(N_("Your answer to “%(title)s” is withdrawn."), title=event.title)
    elif word in ANSWERS:
        result = await service.rsvp(event, ctx.sender, word, ctx.room_id)
        if result.waitlisted:
            message = ctx._(N_("“%(title)s” is full: you are on the waiting list, and I will "
                               "tell you when a place opens up."), title=event.title)
        else:
            labels = {"yes": N_("yes"), "maybe": N_("maybe"), "no": N_("no")}
            message = ctx._(N_("Your answer to “%(title)s”: %(answer)s."), title=event.title,
                            answer=ctx._(labels[word]))
    else:
        raise BadArgument(N_("Answer yes, maybe, no or withdraw."))
    if result.promoted:
        await notify(ctx.deps, ctx.session, event, result.promoted, PROMOTED,
                     f"{txn_base(ctx.message.event_id)}.promoted")
    await _reschedule(ctx, event.id)
    await ctx.reply(message)


@command("attendees", help=N_("Who comes to an event, by location."))
@check(coordinator)
async def attendees(ctx: Context, forum_id: str) -> None:
    service = ForumService(ctx.session, ctx.deps)
    event = await service.get(_forum_id(forum_id))
    rows = await service.attendees(event)
    network = ctx.deps.config.network
    coming = [(r, m) for r, m in rows if r.answer == "yes" and not r.waitlisted]
    by_place = Counter((m.location if m else None) for _, m in coming)
    lines = [ctx._(N_("“%(title)s”: %(yes)d coming."), title=event.title, yes=len(coming))]
    for key, n in sorted(by_place.items(), key=lambda kv: (-kv[1], kv[0] or "")):
        spec = network.location_by_key.get(key or "")
        lines.append(f"{spec.name if spec else ctx._(N_('no location'))}: {n}")
    html_lines = [escape(line) for line in lines]
    for label, group in ((N_("Yes"), coming),
                         (N_("Maybe"), [(r, m) for r, m in rows if r.answer == "maybe"]),
                         (N_("Waiting list"), [(r, m) for r, m in rows if r.waitlisted])):
        if group:
            people = [pill(r.mxid, m.display_name if m else None) for r, m in group]
            lines.append(f"{ctx._(label)}: " + ", ".join(p.text for p in people))
            html_lines.append(escape(ctx._(label)) + ": " + ", ".join(p.html for p in people))
    await ctx.reply("\n".join(lines), "<br>".join(html_lines))
