"""!advice — the advisory workflow, for advisors and coordinators: list, show, claim,
assign, note, reply, close, reopen, stats; and !advisors, the pool (coordinators).

A request is named by its reference (ADV-7KQ2MX, or just 7KQ2MX, any case); in a
request's case room the reference can be left out. Working on requests happens where the
people working on them are: the advisory room and the case rooms (`!advice stats` also
in a direct chat with the bot). Who may is checked first (`advising`), where second.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from bot.context import Context
from bot.db.models import AdvisoryRequest
from bot.errors import UsageError, UserError
from bot.features.advice.messages import SECTOR_LABELS
from bot.features.advice.stats import figures, stats_reply
from bot.features.advice.views import OUTCOME_NAMES, card, listing, pool, room_link, state_name
from bot.features.advice.workflow import looks_like_ref, parse_filter, parse_outcome
from bot.features.profiles.service import parse_tags
from bot.framework import (
    Check,
    OnOff,
    Range,
    Rest,
    check,
    command,
    coordinator,
    group,
    is_coordinator,
    member,
)
from bot.framework.converters import Shown, user_argument
from bot.framework.parsing import unquote_value
from bot.i18n import N_
from commands.profile import set_
from rooms.network import COORDINATOR_LEVEL, NetworkRooms

EMPTY = Rest("")
MAX_DAYS = 3650


async def coordinating(ctx: Context) -> bool:
    """A coordinator — also in a case room, which is not one of the network's rooms: there
    the advisory room's power levels count."""
    if await is_coordinator(ctx):
        return True
    network = ctx.deps.config.network
    if network.advisory is None:
        return False
    advisory = await NetworkRooms(ctx.session, network).room_id(network.advisory)
    if advisory is None or advisory == ctx.room_id:
        return False
    gateway = ctx.deps.gateway
    return await gateway.power_level(advisory, ctx.sender) >= COORDINATOR_LEVEL


async def is_advising(ctx: Context) -> bool:
    """An advisor, or a coordinator."""
    return await ctx.services.cases.may_work(ctx.sender, lambda: coordinating(ctx))


async def in_advice_room(ctx: Context) -> bool:
    """The advisory room, or a request's case room."""
    network = ctx.deps.config.network
    if network.advisory is not None and ctx.room_id == await NetworkRooms(
            ctx.session, network).room_id(network.advisory):
        return True
    return await ctx.services.cases.in_room(ctx.room_id) is not None


advising = Check(is_advising, N_("Only advisors and coordinators work on advisory requests. "
                                 "To become an advisor: %(prefix)sset advisor on"), "advisor")
advice_room = Check(in_advice_room, N_("Advisory requests are worked on in the advisory room "
                                       "or in a request's case room."), "advice-room")


async def _request(ctx: Context, args: str, *, what: str) -> tuple[AdvisoryRequest, str]:
    """The request named first in `args` (in a case room: that room's, when none is
    named), and the rest of the line."""
    first, _, rest = args.strip().partition(" ")
    here = await ctx.services.cases.in_room(ctx.room_id)
    if first and looks_like_ref(first):
        named = await ctx.services.cases.get(first)
        if here is not None and named.id != here.id:  # a case room holds its request only
            raise UserError(N_("This room is for %(ref)s: work on other requests in the "
                               "advisory room."), ref=here.ref)
        return named, rest.strip()
    if here is not None:
        return here, args.strip()
    raise UsageError(N_("Which request? Name it by its reference, for example: %(example)s"),
                     example=f"{ctx.prefix}advice {what} ADV-7KQ2MX")


@group("advice", help=N_("Work on advisory requests from outside the network: list, show, "
                         "claim, assign, note, reply, close, reopen, stats."))
@check(advising)
async def advice(ctx: Context) -> None:
    raise UserError(N_("What should I do? %(forms)s"), forms=", ".join(
        f"{ctx.prefix}advice {form}" for form in (
            "list [open|mine|all|state|sector|location]", "show <ref>", "claim <ref>",
            "assign <ref> @member", "note <ref> <text>", "reply <ref> <text>",
            "close <ref> helped|referred|declined|no_reply", "reopen <ref>", "stats [days]")))


@advice.command("list", help=N_("List advisory requests: open (the default), mine, all, or by "
                                "state, sector or location."))
@check(advice_room)
async def list_requests(ctx: Context, what: Rest = EMPTY) -> None:
    cases = ctx.services.cases
    wanted = parse_filter(ctx.tr, unquote_value(what), ctx.deps.config.network.location_by_key)
    found, more = await cases.listing(wanted, ctx.sender)
    await ctx.reply(*listing(ctx.tr, ctx.deps.config.network, ctx.prefix, found, more,
                                   ctx.deps.clock()))


@advice.command("show", help=N_("Show an advisory request with its state, people and "
                                "history."))
@check(advice_room)
async def show(ctx: Context, args: Rest = EMPTY) -> None:
    request, _ = await _request(ctx, args, what="show")
    case, entries, messages = await ctx.services.cases.show(request)
    await ctx.reply(*card(ctx.tr, ctx.deps.config.network, ctx.prefix, case, entries,
                                messages, ctx.deps.clock()))


@advice.command("claim", help=N_("Take an advisory request on; a private case room opens "
                                 "for it."))
@check(advice_room)
async def claim(ctx: Context, args: Rest = EMPTY) -> None:
    request, _ = await _request(ctx, args, what="claim")
    await ctx.services.cases.claim(request, ctx.sender)
    await ctx.reply(_with_room(ctx, N_("%(ref)s is yours. Its case room: %(room)s"), request))


@advice.command("assign", help=N_("Hand an advisory request to an advisor."))
@check(advice_room)
async def assign(ctx: Context, args: Rest = EMPTY) -> None:
    request, rest = await _request(ctx, args, what="assign")
    if not rest:
        raise UsageError(N_("To whom? For example: %(example)s"),
                         example=f"{ctx.prefix}advice assign {request.ref} @ana:example.org")
    who = user_argument(ctx, rest.split()[0])
    await ctx.services.cases.assign(request, who, ctx.sender,
                                    coordinator=await coordinating(ctx))
    await ctx.reply(_with_room(ctx, N_("%(ref)s is with %(who)s now. Its case room: "
                                       "%(room)s"), request, who=who))


@advice.command("note", help=N_("Add a note to an advisory request's history."))
@check(advice_room)
async def note(ctx: Context, args: Rest = EMPTY) -> None:
    request, text = await _request(ctx, args, what="note")
    await ctx.services.cases.note(request, text, ctx.sender)
    await ctx.reply(ctx._(N_("Noted in the history of %(ref)s."), ref=request.ref))


@advice.command("reply", help=N_("Answer the requester: by e-mail, and on their status "
                                 "page."))
@check(advice_room)
async def reply(ctx: Context, args: Rest = EMPTY) -> None:
    request, text = await _request(ctx, args, what="reply")
    ctx.services.cases.may_change(request, ctx.sender, await coordinating(ctx))
    answered = await ctx.services.cases.answer(request, text, ctx.sender)
    outbox = ctx.services.outbox
    message_id = answered.message.id
    if answered.by_mail:
        ctx.after_commit(lambda: outbox.wake(message_id))
        await ctx.reply(ctx._(N_("Your answer to %(ref)s goes to the requester by e-mail and "
                                 "shows on their status page."), ref=request.ref))
    else:
        await ctx.reply(ctx._(N_("Your answer to %(ref)s shows on the requester's status "
                                 "page; it is not sent by e-mail (no mail server is set up, "
                                 "or their address has been erased)."), ref=request.ref))


@advice.command("close", help=N_("Close an advisory request with its outcome: helped, "
                                 "referred, declined or no_reply."))
@check(advice_room)
async def close(ctx: Context, args: Rest = EMPTY) -> None:
    request, rest = await _request(ctx, args, what="close")
    if not rest:
        raise UsageError(N_("How did it end? For example: %(example)s"),
                         example=f"{ctx.prefix}advice close {request.ref} helped")
    outcome = parse_outcome(ctx.tr, rest)
    ctx.services.cases.may_change(request, ctx.sender, await coordinating(ctx))
    await ctx.services.cases.close(request, outcome, ctx.sender)
    await ctx.reply(ctx._(N_("%(ref)s is closed: %(outcome)s."), ref=request.ref,
                          outcome=ctx._(OUTCOME_NAMES[outcome])))


@advice.command("reopen", help=N_("Reopen an answered or closed advisory request."))
@check(advice_room)
async def reopen(ctx: Context, args: Rest = EMPTY) -> None:
    request, _ = await _request(ctx, args, what="reopen")
    ctx.services.cases.may_change(request, ctx.sender, await coordinating(ctx))
    await ctx.services.cases.reopen(request, ctx.sender)
    await ctx.reply(ctx._(N_("%(ref)s is open again: %(state)s."), ref=request.ref,
                          state=state_name(ctx.tr, request)))


@advice.command("stats", help=N_("How fast the network answers: times to claim and to "
                                 "answer, outcomes and ratings, by location and sector."))
async def stats(ctx: Context,
                days: Annotated[int, Range(1, MAX_DAYS)] | None = None) -> None:
    if not (await in_advice_room(ctx) or await ctx.deps.direct.is_direct(ctx.room_id)):
        raise UserError(N_("Advisory figures are shown in the advisory room, a case room or "
                           "a direct chat with me."))
    since = ctx.deps.clock() - timedelta(days=days) if days else None
    found = await figures(ctx.session, since=since)
    await ctx.reply(*stats_reply(ctx.tr, ctx.deps.config.network, found, days=days))


def _with_room(ctx: Context, msgid: str, request: AdvisoryRequest, **params: str) -> str:
    room = room_link(request.case_room_id).text if request.case_room_id else "—"
    return ctx._(msgid, ref=request.ref, room=room, **params)


@set_.command("advisor", help=N_("Offer to advise organisations outside the network (on, "
                                 "with the tags you advise on — else your offers count), or "
                                 "stop (off)."))
@check(member)
async def set_advisor(ctx: Context, value: OnOff,
                      tags: Annotated[Rest, Shown("tag, tag, …")] = EMPTY) -> None:
    cases = ctx.services.cases
    if not value:
        if tags.strip():
            raise UsageError(N_("Tags go with %(usage)s only."),
                             usage=f"{ctx.prefix}set advisor on video, funding")
        if await cases.retire(ctx.sender):
            await ctx.reply(ctx._(N_("You are no longer an advisor. Thank you for your help!")))
        else:
            await ctx.reply(ctx._(N_("You are not an advisor.")))
        return
    advisor, invited = await cases.enrol(ctx.sender, parse_tags(tags) if tags.strip() else [])
    on = (ctx._(N_("You are an advisor now, for: %(tags)s."), tags=advisor.tags.replace(",", ", "))
          if advisor.tags else
          ctx._(N_("You are an advisor now; what you offer (%(offer)s) says what you advise "
                   "on."), offer=f"{ctx.prefix}offer"))
    where = (ctx._(N_("I invited you to the advisory room, where requests arrive.")) if invited
             else ctx._(N_("There is no advisory room yet; a coordinator sets one up.")))
    await ctx.reply(f"{on} {where}")


def _pool_filter(ctx: Context, raw: str) -> str | None:
    """A location (key or name) as its key, a sector (key or label, in English or the
    reader's language) as its key; None for everyone."""
    wanted = unquote_value(raw).strip()
    if not wanted:
        return None
    folded = wanted.casefold()
    for key, label in SECTOR_LABELS.items():
        if folded in (key, label.casefold(), ctx._(label).casefold()):
            return key
    try:
        return ctx.deps.config.network.find_location(wanted).key
    except UserError:
        raise UserError(N_("“%(value)s” is neither a location nor a sector. Sectors: "
                           "%(sectors)s."), value=wanted[:40],
                        sectors=", ".join(SECTOR_LABELS)) from None


@command("advisors", help=N_("The advisors' pool, all or at a location or for a sector "
                             "(coordinators)."))
@check(coordinator)
async def advisors(ctx: Context, what: Rest = EMPTY) -> None:
    entries = await ctx.services.advisors.filtered(_pool_filter(ctx, what))
    await ctx.reply(*pool(ctx.tr, ctx.deps.config.network, entries))
