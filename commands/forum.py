"""!forum (one event; add, edit, cancel, ics), !forums, !rsvp, !attendees — the network's
forums and events."""

from __future__ import annotations

from bot.context import Context
from bot.dates import event_time
from bot.features.forums.converters import (
    Answer,
    Capacity,
    Clock,
    Day,
    EventNumber,
    Field,
    Title,
    WebAddress,
)
from bot.features.forums.messages import ANSWER_LABELS
from bot.features.forums.service import WITHDRAW
from bot.framework import Place, Rest, check, command, coordinator, group
from bot.i18n import N_


@command("forums", help=N_("Upcoming events, in your timezone and language."))
async def forums(ctx: Context) -> None:
    agenda = await ctx.services.forums.agenda(ctx.sender)
    await ctx.reply(*ctx.services.forums.messages.agenda(ctx.tr, agenda))


@group("forum", help=N_("One event in detail (!forum <id>); coordinators also add, edit, "
                        "cancel; ics gives a calendar file."))
async def forum(ctx: Context, id: EventNumber) -> None:
    details = await ctx.services.forums.details(id, ctx.sender)
    await ctx.reply(ctx.services.forums.messages.details(ctx.tr, details))


@forum.command("add", help=N_("Plan an event at a location (the date and time are its local "
                              "time) and announce it."))
@check(coordinator)
async def add(ctx: Context, date: Day, time: Clock, location: Place, title: Title, *,
              capacity: Capacity = None, online: WebAddress | None = None) -> None:
    planned = await ctx.services.forums.plan(
        title=title, location=location, day=date, at=time, capacity=capacity, online_url=online,
        by=ctx.sender, cause=ctx.message.event_id)
    event = planned.event
    text = ctx._(N_("Event #%(id)d is planned: “%(title)s”, %(date)s."), id=event.id,
                 title=event.title, date=event_time(event.starts_at, event.timezone, ctx.locale))
    text += " " + ctx.ngettext("Announced in %(num)d room.", "Announced in %(num)d rooms.",
                               len(planned.rooms))
    await ctx.reply(text)


@forum.command("edit", help=N_("Change an event's date, time, title or capacity; everyone "
                               "who answered yes or maybe is told."))
@check(coordinator)
async def edit(ctx: Context, id: EventNumber, field: Field, value: Rest) -> None:
    event = await ctx.services.forums.edit(id, field, value, cause=ctx.message.event_id)
    await ctx.reply(ctx._(N_("Event #%(id)d is updated; everyone who answered yes or maybe is "
                             "told."), id=event.id))


@forum.command("cancel", help=N_("Cancel an event; everyone who answered yes or maybe is "
                                 "told."))
@check(coordinator)
async def cancel(ctx: Context, id: EventNumber) -> None:
    event = await ctx.services.forums.cancel(id, cause=ctx.message.event_id)
    await ctx.reply(ctx._(N_("Event #%(id)d is cancelled; everyone who answered yes or maybe "
                             "is told."), id=event.id))


@forum.command("ics", help=N_("The event as a calendar file, to import into your calendar."))
async def ics(ctx: Context, id: EventNumber) -> None:
    file = await ctx.services.forums.event_file(id)
    await ctx.send_file(ctx.room_id, file.data, file.filename, file.mimetype)


@command("rsvp", help=N_("Answer an event: yes, maybe or no (withdraw to take it back)."))
async def rsvp(ctx: Context, id: EventNumber, answer: Answer) -> None:
    result = await ctx.services.forums.answer(id, ctx.sender, answer, room_id=ctx.room_id,
                                              cause=ctx.message.event_id)
    title = result.event.title
    if answer == WITHDRAW:
        await ctx.reply(ctx._(N_("Your answer to “%(title)s” is withdrawn."), title=title))
    elif result.waitlisted:
        await ctx.reply(ctx._(N_("“%(title)s” is full: you are on the waiting list, and I will "
                                 "tell you when a place opens up."), title=title))
    else:
        await ctx.reply(ctx._(N_("Your answer to “%(title)s”: %(answer)s."), title=title,
                              answer=ctx._(ANSWER_LABELS[answer])))


@command("attendees", help=N_("Who comes to an event, by location."))
@check(coordinator)
async def attendees(ctx: Context, id: EventNumber) -> None:
    attending = await ctx.services.forums.attendees(id)
    await ctx.reply(*ctx.services.forums.messages.attendees(ctx.tr, attending))
