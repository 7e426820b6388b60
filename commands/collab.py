"""!collab — collaborations between members: add, list, show, status, note, confirm, leave.

`!collab` alone answers with every form. Who may change a collaboration (its members, or
a coordinator) depends on the collaboration: the service decides, asking whether the
sender is a coordinator only when they are not a member.

Nobody is published without their consent: everyone named besides the recorder is asked
(a notice in the room, ✅ on it confirms) and confirms with `confirm`, or leaves with
`leave`; until all have confirmed, only its members see it. Recording and reading (`add`,
`list`, `show`) are for the network's members (`@check(member)`). `confirm` and `leave`
are for whoever is named, member of the network or not: consent and withdrawal never wait
for joining a room. `status` and `note` keep their rule (the collaboration's members, or a
coordinator), which already shuts out everyone else.
"""

from __future__ import annotations

import re
from typing import Annotated

from bot.context import Context
from bot.errors import BadArgument, UsageError, UserError
from bot.features.collaborations import messages
from bot.features.collaborations.service import NO_SUCH, parse_status
from bot.framework import Ref, Rest, Shown, check, group, is_coordinator, member
from bot.framework.converters import (
    MATRIX_TO_RE,
    MXID_RE,
    NOT_AN_MXID,
    message_html,
    pills,
    user_argument,
)
from bot.framework.parsing import unquote_value
from bot.i18n import N_
from rooms.topology import RoomSpec

CollabId = Annotated[int, Ref(N_("“%(value)s” is not a collaboration number like "
                                 "%(example)s."), missing=NO_SUCH)]
# The keyword between the title and the members ("Festival film with @ala:… @bob:…").
WITH_RE = re.compile(r"(?:^|\s)with(?=\s|$)", re.IGNORECASE)
TRAILING = ".,;!?"
EMPTY = Rest("")  # an optional rest of the line, when nothing follows


class Status(str):
    """A status keyword, in any case: planned, active, done or dropped."""

    @classmethod
    async def convert(cls, _ctx: Context, raw: str) -> Status:
        return cls(parse_status(raw))


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
    mentioned = _pills_after_with(ctx)
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
        elif not mentioned:  # otherwise it is (part of) a pill's display name
            raise BadArgument(NOT_AN_MXID, value=word[:80])
    return list(dict.fromkeys([*members, *mentioned])), topic


def _draft(ctx: Context, text: str) -> tuple[str, list[str], str | None]:
    """`<title> with <members> [#topic]`: the title, the members and the topic."""
    text = text.strip()
    last = _last_with(text)
    if last is None:
        raise UsageError(N_("Who is it with? Write the title, then “with” and the members, "
                            "for example: %(example)s"),
                         example=f"{ctx.prefix}collab add Joint exhibition with "
                                 "@ana:example.org #design")
    members, topic = _members_and_topic(ctx, text[last.end():])
    return unquote_value(text[:last.start()]), members, topic


def _whose(ctx: Context, text: str) -> str | RoomSpec:
    """A member (their Matrix ID) or a location, for `!collab list …`; the sender when
    nothing is given."""
    raw = unquote_value(text)
    if not raw:
        return ctx.sender
    if raw.startswith("@") or MATRIX_TO_RE.search(raw):
        return user_argument(ctx, raw)
    try:
        return ctx.deps.config.network.find_location(raw)
    except UserError:
        mentioned = pills(message_html(ctx))
        if mentioned:
            return mentioned[0]
        raise


# -- the subcommands -------------------------------------------------------------------


@group("collab", help=N_("Record and follow collaborations: add <title> with @a @b [#topic], "
                         "list [@user|location], show <id>, status <id> "
                         "planned|active|done|dropped, note <id> <text>, confirm <id>, "
                         "leave <id>. Only members and coordinators change one; nobody "
                         "else sees it until everyone named has confirmed."))
async def collab(ctx: Context) -> None:
    raise UserError(N_("What should I do? %(forms)s"), forms=messages.forms(ctx.prefix))


@collab.command("add", help=N_("Record a collaboration: its title, then “with” and the "
                               "other members, and a #topic if you like."))
@check(member)
async def add(ctx: Context, what: Annotated[Rest, Shown("title with @name … [#topic]")] = EMPTY
              ) -> None:
    title, members, topic = _draft(ctx, what)
    service = ctx.services.collaborations
    new = await service.add(title, members, ctx.sender, topic)
    # the others named are asked in the room where it was recorded (not in a direct chat:
    # nobody else reads it)
    asking = not await ctx.deps.direct.is_direct(ctx.room_id)
    await ctx.reply(*messages.added(ctx.tr, ctx.deps.config.network, ctx.prefix,
                                    await service.card(new.id), asking=asking))
    if asking:
        await service.ask(new.id, ctx.room_id, ctx.next_txn_id())


@collab.command("list", help=N_("List your collaborations, a member's, or those with "
                                "members from a location."))
@check(member)
async def list_collaborations(ctx: Context,
                              whose_: Annotated[Rest, Shown("@user|location")] = EMPTY) -> None:
    service = ctx.services.collaborations
    whose = _whose(ctx, whose_)
    if isinstance(whose, RoomSpec):
        reply = messages.location_list(
            ctx.tr, ctx.deps.config.network, whose.key,
            await service.list_for_location(whose.key, reader=ctx.sender))
    elif whose == ctx.sender:
        reply = messages.own_list(ctx.tr, ctx.prefix, await service.list_for_member(whose))
    else:
        reply = messages.member_list(ctx.tr, whose,
                                     await service.list_for_member(whose, reader=ctx.sender))
    await ctx.reply(*reply)


@collab.command("show", help=N_("Show a collaboration with its members and history."))
@check(member)
async def show(ctx: Context, id: CollabId | None = None) -> None:
    if id is None:
        raise UsageError(N_("Which collaboration? For example: %(example)s"),
                         example=f"{ctx.prefix}collab show 12")
    card = await ctx.services.collaborations.card_with_history(id, ctx.sender, ctx.room_id)
    await ctx.reply(*messages.card(ctx.tr, ctx.deps.config.network, card))


@collab.command("status", help=N_("Set a collaboration's status: planned, active, done or "
                                  "dropped."))
async def set_status(ctx: Context, id: CollabId | None = None,
                     status: Status | None = None) -> None:
    if id is None or status is None:
        raise UsageError(N_("Which collaboration and which status? For example: "
                            "%(example)s"), example=f"{ctx.prefix}collab status 12 active")
    change = await ctx.services.collaborations.set_status(
        id, status, ctx.sender, coordinator=lambda: is_coordinator(ctx))
    await ctx.reply(*messages.status_changed(ctx.tr, change))


@collab.command("note", help=N_("Add a note to a collaboration's history."))
async def note(ctx: Context, id: CollabId | None = None, text: Rest = EMPTY) -> None:
    if id is None:
        raise UsageError(N_("Which collaboration, and what note? For example: %(example)s"),
                         example=f"{ctx.prefix}collab note 12 First meeting in Rostock.")
    noted = await ctx.services.collaborations.add_note(
        id, text, ctx.sender, coordinator=lambda: is_coordinator(ctx))
    await ctx.reply(*messages.note_added(ctx.tr, noted))


@collab.command("confirm", help=N_("Confirm that you take part in a collaboration you are "
                                   "named in; until everyone named has, only its members "
                                   "see it."))
async def confirm(ctx: Context, id: CollabId | None = None) -> None:
    if id is None:
        raise UsageError(N_("Which collaboration? For example: %(example)s"),
                         example=f"{ctx.prefix}collab confirm 12")
    service = ctx.services.collaborations
    done = await service.confirm(id, ctx.sender)
    await ctx.reply(*messages.confirmed(ctx.tr, await service.display_names(done.pending),
                                        done))


@collab.command("leave", help=N_("Leave a collaboration: your name comes off it (the others "
                                 "keep it)."))
async def leave(ctx: Context, id: CollabId | None = None) -> None:
    if id is None:
        raise UsageError(N_("Which collaboration? For example: %(example)s"),
                         example=f"{ctx.prefix}collab leave 12")
    gone = await ctx.services.collaborations.leave(id, ctx.sender)
    await ctx.reply(*messages.left(ctx.tr, gone))
