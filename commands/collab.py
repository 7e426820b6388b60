"""!collab — collaborations between members: add, list, show, status, note."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_datetime

from bot.context import Context
from bot.db.models import Collaboration, CollaborationEvent, CollaborationMember
from bot.errors import BadArgument, UsageError, UserError
from bot.features.collaborations.service import (
    CREATED,
    NOTE,
    STATUS,
    STATUSES,
    CollaborationService,
    Page,
)
from bot.features.profiles.service import find_location, location_label
from bot.formatting import Rich, escape, fill, markup, pill
from bot.framework.checks import is_coordinator
from bot.framework.command import Rest, command
from bot.framework.converters import (
    MATRIX_TO_RE,
    MXID_RE,
    message_html,
    pills,
    user_argument,
)
from bot.framework.parsing import unquote_value
from bot.i18n import N_

ACTIONS = ("add", "list", "show", "status", "note")
STATUS_LABELS = {
    "planned": N_("planned"),
    "active": N_("active"),
    "done": N_("done"),
    "dropped": N_("dropped"),
}
# The keyword between the title and the members ("Festival film with @ala:… @bob:…").
WITH_RE = re.compile(r"(?:^|\s)with(?=\s|$)", re.IGNORECASE)
NOT_AN_MXID = N_("“%(value)s” is not a Matrix ID. Write it like @name:server, or mention the "
                 "person.")
TRAILING = ".,;!?"


def _forms(ctx: Context) -> str:
    base = f"{ctx.prefix}collab"
    return "; ".join((
        f"{base} add <title> with @name:server … [#topic]",
        f"{base} list [@user|location]",
        f"{base} show <id>",
        f"{base} status <id> {'|'.join(STATUSES)}",
        f"{base} note <id> <text>",
    ))


def _status(ctx: Context, status: str) -> str:
    label = STATUS_LABELS.get(status)
    return ctx._(label) if label else status


def _number(raw: str) -> int:
    """A collaboration's number as typed: 12 or #12."""
    value = raw.strip().removeprefix("#")
    if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**31:
        raise BadArgument(N_("“%(value)s” is not a collaboration number like %(example)s."),
                          value=raw.strip()[:40], example="12")
    return int(value)


def _split(text: str) -> tuple[str, str]:
    """The first word and the rest."""
    parts = text.strip().split(None, 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0] if parts else "", "")


# -- who and what ----------------------------------------------------------------------


def _last_with(text: str) -> re.Match[str] | None:
    """The last “with”: a title may contain the word, the members after it do not."""
    matches = list(WITH_RE.finditer(text))
    return matches[-1] if matches else None


def _pills_after_with(ctx: Context) -> list[str]:
    """Users mentioned (pills) after the last “with” of the message's HTML."""
    html = message_html(ctx)
    last = _last_with(html)
    return [] if last is None else pills(html, last.end())


def _members_and_topic(ctx: Context, text: str) -> tuple[list[str], str | None]:
    """After “with”: Matrix IDs, matrix.to links or pills, and at most one #topic."""
    pills = _pills_after_with(ctx)
    members: list[str] = []
    topic: str | None = None
    for raw in text.split():
        word = raw.rstrip(TRAILING)
        if not word:
            continue
        if word.startswith("#"):
            if topic is not None:
                raise BadArgument(N_("Give one topic only, not both %(first)s and "
                                     "%(second)s."), first=topic, second=word)
            topic = word
        elif MATRIX_TO_RE.search(word) or MXID_RE.match(word):
            members.append(user_argument(ctx, word))
        elif not pills:  # otherwise it is (part of) a pill's display name
            raise BadArgument(NOT_AN_MXID, value=word[:80])
    return list(dict.fromkeys([*members, *pills])), topic


def _user_or_location(ctx: Context, text: str) -> tuple[str | None, str | None]:
    """(user, None) or (None, location key) for `!collab list …`."""
    raw = unquote_value(text)
    if raw.startswith("@") or MATRIX_TO_RE.search(raw):
        return user_argument(ctx, raw), None
    try:
        return None, find_location(ctx.deps.config.network, raw).key
    except UserError:
        mentioned = pills(message_html(ctx))
        if mentioned:
            return mentioned[0], None
        raise


# -- rendering -------------------------------------------------------------------------


async def _names(ctx: Context, mxids: list[str]) -> dict[str, Rich]:
    names = await ctx.services.collaborations.display_names(mxids)
    return {m: pill(m, names.get(m)) for m in mxids}


async def _timezone(ctx: Context) -> ZoneInfo:
    """The reader's timezone: their own, else the room's, else UTC."""
    member = await ctx.services.members.get(ctx.sender)
    room = await ctx.services.rooms.get(ctx.room_id)
    for name in (member.timezone if member else None, room.timezone if room else None):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _origin(ctx: Context, collab: Collaboration) -> str:
    if collab.origin == "connection":
        return ctx._(N_("from connection #%(id)d"), id=collab.origin_id or 0)
    if collab.origin == "round":
        return ctx._(N_("from matchmaking round #%(id)d"), id=collab.origin_id or 0)
    return ctx._(N_("recorded directly"))


def _countries(ctx: Context, members: list[CollaborationMember]) -> list[str]:
    by_key = ctx.deps.config.network.location_by_key
    codes = sorted({by_key[m.location].country or "" for m in members
                    if m.location in by_key} - {""})
    names = Locale.parse(ctx.locale).territories
    return [names.get(code, code) for code in codes]


async def _card(ctx: Context, collab: Collaboration, members: list[CollaborationMember],
                history: Page[CollaborationEvent] | None) -> tuple[str, str]:
    """Plain text and HTML of a collaboration: its facts, members and (when given) history."""
    network = ctx.deps.config.network
    head = f"#{collab.id} {collab.title}"
    text = [head]
    html = [markup("<b>%(head)s</b>", head=head)]

    def line(label: str, value: str) -> None:
        text.append(f"{ctx._(label)} {value}")
        html.append(markup("<b>%(label)s</b> %(value)s", label=ctx._(label), value=value))

    line(N_("Status:"), _status(ctx, collab.status))
    line(N_("Origin:"), _origin(ctx, collab))
    if collab.topic:
        topic = next((t.name for t in network.topics if t.key == collab.topic), collab.topic)
        line(N_("Topic:"), topic)
    if collab.cross_border:
        line(N_("Across borders:"), ", ".join(_countries(ctx, members)))

    names = await _names(ctx, [m.mxid for m in members] + (
        [e.by for e in history.items] if history else []))
    who_text, who_html = [], []
    for m in members:
        where = f" ({location_label(m.location, network, ctx.locale)})" if m.location else ""
        who_text.append(names[m.mxid].text + where)
        who_html.append(names[m.mxid].html + escape(where))
    label = ctx._(N_("Members:"))
    text.append(f"{label} {', '.join(who_text)}")
    html.append(f"<b>{escape(label)}</b> {', '.join(who_html)}")

    if history is not None:
        label = ctx._(N_("History:"))
        text.append(label)
        items = []
        if history.more:
            earlier = ctx.ngettext("%(num)d earlier entry is not shown.",
                                   "%(num)d earlier entries are not shown.", history.more)
            text.append(f"• {earlier}")
            items.append(f"<li><i>{escape(earlier)}</i></li>")
        tz = await _timezone(ctx)
        for event in history.items:
            t, h = _event(ctx, event, names[event.by], tz)
            text.append(f"• {t}")
            items.append(f"<li>{h}</li>")
        html.append(f"<b>{escape(label)}</b><ul>" + "".join(items) + "</ul>")
    return "\n".join(text), "<br>".join(html)


def _event(ctx: Context, event: CollaborationEvent, who: Rich,
           tz: ZoneInfo) -> tuple[str, str]:
    when = format_datetime(event.at, "short", tzinfo=tz, locale=ctx.locale)
    if event.kind == CREATED:
        return fill(ctx._(N_("%(when)s — %(who)s recorded it")), when=when, who=who)
    if event.kind == STATUS:
        return fill(ctx._(N_("%(when)s — %(who)s set the status to %(status)s")), when=when,
                    who=who, status=_status(ctx, event.status or ""))
    if event.kind == NOTE:
        return fill(ctx._(N_("%(when)s — %(who)s: %(note)s")), when=when, who=who,
                    note=event.text or "")
    return fill("%(when)s — %(who)s: %(kind)s", when=when, who=who, kind=event.kind)


async def _listing(ctx: Context, header: tuple[str, str],
                   page: Page[Collaboration]) -> tuple[str, str]:
    service = ctx.services.collaborations
    members = await service.members_of([c.id for c in page.items])
    names = await _names(ctx, sorted({m.mxid for ms in members.values() for m in ms}))
    text, items = [header[0]], []
    for c in page.items:
        people = [names[m.mxid] for m in members[c.id]]
        status = _status(ctx, c.status)
        text.append(f"• #{c.id} {c.title} ({status}) — " + ", ".join(p.text for p in people))
        items.append(markup("<li><b>#%(id)s %(title)s</b> (%(status)s) — ", id=c.id,
                            title=c.title, status=status)
                     + ", ".join(p.html for p in people) + "</li>")
    if page.more:
        more = ctx.ngettext("and %(num)d more", "and %(num)d more", page.more)
        text.append(more)
        items.append(f"<li><i>{escape(more)}</i></li>")
    return "\n".join(text), header[1] + "<ul>" + "".join(items) + "</ul>"


# -- the subcommands -------------------------------------------------------------------


async def _add(ctx: Context, text: str) -> None:
    text = text.strip()
    last = _last_with(text)
    if last is None:
        raise UsageError(N_("Who is it with? Write the title, then “with” and the members, "
                            "for example: %(example)s"),
                         example=f"{ctx.prefix}collab add Joint exhibition with "
                                 "@ana:example.org #design")
    title = unquote_value(text[:last.start()])
    members, topic = _members_and_topic(ctx, text[last.end():])
    service = ctx.services.collaborations
    collab = await service.add(title, members, ctx.sender, topic)
    t, h = await _card(ctx, collab, await service.members(collab.id), None)
    done = ctx._(N_("Collaboration #%(id)d is recorded. Change its status with %(status)s, "
                    "add a note with %(note)s."), id=collab.id,
                 status=f"{ctx.prefix}collab status {collab.id} active",
                 note=f"{ctx.prefix}collab note {collab.id} <text>")
    await ctx.reply(f"{done}\n{t}", f"{escape(done)}<br>{h}")


async def _list(ctx: Context, text: str) -> None:
    service = ctx.services.collaborations
    translator = ctx.deps.translator
    user, location = _user_or_location(ctx, text) if text.strip() else (ctx.sender, None)
    if location is not None:
        page = await service.list_for_location(location)
        where = location_label(location, ctx.deps.config.network, ctx.locale)
        if not page.total:
            await ctx.reply(ctx._(N_("No collaborations with members from %(location)s yet."),
                                  location=where))
            return
        header = fill(translator.ngettext_template(
            "%(num)d collaboration with members from %(location)s:",
            "%(num)d collaborations with members from %(location)s:", page.total, ctx.locale),
            num=page.total, location=where)
    elif user == ctx.sender:
        page = await service.list_for_member(ctx.sender)
        if not page.total:
            await ctx.reply(ctx._(N_("You have no collaborations yet. Record one with "
                                     "%(usage)s."),
                                  usage=f"{ctx.prefix}collab add <title> with @name:server"))
            return
        header = fill(translator.ngettext_template(
            "You have %(num)d collaboration:", "You have %(num)d collaborations:", page.total,
            ctx.locale), num=page.total)
    else:
        assert user is not None
        page = await service.list_for_member(user)
        who = (await _names(ctx, [user]))[user]
        if not page.total:
            t, h = fill(ctx._(N_("%(user)s has no collaborations yet.")), user=who)
            await ctx.reply(t, h)
            return
        header = fill(translator.ngettext_template(
            "%(user)s has %(num)d collaboration:", "%(user)s has %(num)d collaborations:",
            page.total, ctx.locale), num=page.total, user=who)
    await ctx.reply(*await _listing(ctx, header, page))


async def _show(ctx: Context, text: str) -> None:
    raw, extra = _split(text)
    if not raw:
        raise UsageError(N_("Which collaboration? For example: %(example)s"),
                         example=f"{ctx.prefix}collab show 12")
    if extra:
        raise UsageError(N_("Too many arguments: %(extra)s"), extra=extra)
    service = ctx.services.collaborations
    collab = await service.get(_number(raw))
    await ctx.reply(*await _card(ctx, collab, await service.members(collab.id),
                                 await service.history(collab.id)))


async def _may_override(ctx: Context, service: CollaborationService, number: int) -> bool:
    """Whether the sender may change a collaboration they are not a member of."""
    return not await service.is_member(number, ctx.sender) and await is_coordinator(ctx)


async def _set_status(ctx: Context, text: str) -> None:
    raw, rest = _split(text)
    status, extra = _split(rest)
    if not raw or not status:
        raise UsageError(N_("Which collaboration and which status? For example: "
                            "%(example)s"), example=f"{ctx.prefix}collab status 12 active")
    if extra:
        raise UsageError(N_("Too many arguments: %(extra)s"), extra=extra)
    number = _number(raw)
    service = ctx.services.collaborations
    old = await service.set_status(number, status, ctx.sender,
                                   coordinator=await _may_override(ctx, service, number))
    collab = await service.get(number)
    t, h = fill(ctx._(N_("Collaboration #%(id)d “%(title)s” is now %(status)s (it was "
                         "%(old)s).")), id=collab.id, title=collab.title,
                status=_status(ctx, collab.status), old=_status(ctx, old))
    await ctx.reply(t, h)


async def _note(ctx: Context, text: str) -> None:
    raw, note = _split(text)
    if not raw:
        raise UsageError(N_("Which collaboration, and what note? For example: %(example)s"),
                         example=f"{ctx.prefix}collab note 12 First meeting in Rostock.")
    number = _number(raw)
    service = ctx.services.collaborations
    await service.add_note(number, note, ctx.sender,
                           coordinator=await _may_override(ctx, service, number))
    collab = await service.get(number)
    t, h = fill(ctx._(N_("Your note is added to collaboration #%(id)d “%(title)s”.")),
                id=collab.id, title=collab.title)
    await ctx.reply(t, h)


HANDLERS: dict[str, Callable[[Context, str], Awaitable[None]]] = {
    "add": _add,
    "list": _list,
    "show": _show,
    "status": _set_status,
    "note": _note,
}


@command("collab", help=N_("Record and follow collaborations: add <title> with @a @b [#topic], "
                           "list [@user|location], show <id>, status <id> "
                           "planned|active|done|dropped, note <id> <text>. Only members and "
                           "coordinators change one."))
async def collab(ctx: Context, action: str = "", details: Rest = "") -> None:
    handler = HANDLERS.get(action.casefold())
    if handler is None:
        if not action:
            raise UsageError(N_("What should I do? %(forms)s"), forms=_forms(ctx))
        raise UsageError(N_("“%(value)s” is not one of: %(choices)s. %(forms)s"),
                         value=action[:40], choices=", ".join(ACTIONS), forms=_forms(ctx))
    await handler(ctx, details)
