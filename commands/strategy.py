"""!strategy (processes: list, new, show, dates, phase, answer, public), !propose, !amend
and !vote — the joint 10-year strategies. Coordinators run a process; members of the
covered locations propose, amend their own proposals and vote."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import bot.features.strategies.messages as messages
from bot.context import Context
from bot.dates import event_time
from bot.db.models import Member, StrategyProcess
from bot.errors import NotAllowed, UsageError
from bot.features.forums.converters import Clock, Day
from bot.features.strategies.service import NO_SUCH, split_keys
from bot.framework import OnOff, Ref, Rest, check, coordinator, group, member
from bot.framework.command import command
from bot.i18n import N_

ProcessId = Annotated[int, Ref(N_("“%(value)s” is not a strategy number like %(example)s."),
                               missing=NO_SUCH)]
Number = Annotated[int, Ref(N_("“%(value)s” is not a proposal number like %(example)s."))]
OPTION_RE = re.compile(r"(?:^|\s)(locations|sections)=(\S*)", re.IGNORECASE)
EMPTY = Rest("")


async def _members_only(ctx: Context) -> None:
    """The list of processes is the network's, like `show` (a group's own check would also
    stand before its coordinators' subcommands, whose refusal says who may)."""
    if not await member.predicate(ctx):
        raise NotAllowed(member.denied, prefix=ctx.prefix)


def _shown_link(ctx: Context, process_id: int, key: str, public: bool) -> str:
    base = ctx.deps.config.web.public_url or ""
    return f"{base}/strategies/{process_id}" + ("" if public else f"?k={key}")


@group("strategy", help=N_("Joint 10-year strategies: the processes (!strategy), one in "
                           "full (show <id>); coordinators: new, dates, phase, answer, "
                           "public."))
async def strategy(ctx: Context) -> None:
    await _members_only(ctx)
    rows = await ctx.services.strategies.listing()
    if not rows:
        await ctx.reply(ctx._(N_("No strategy processes yet. A coordinator opens one with "
                                 "%(usage)s."), usage=f"{ctx.prefix}strategy new <title> "
                                                      "locations=<key,key> sections=<a,b>"))
        return
    await ctx.reply("\n".join(messages.process_line(ctx.tr, p, n) for p, n in rows))


@strategy.command("new", help=N_("Open a process: its title, locations=<key,key,…> and "
                                 "sections=<name,name,…> (default: the configured ones)."))
@check(coordinator)
async def new(ctx: Context, text: Rest = EMPTY) -> None:
    options = {m[1].lower(): m[2] for m in OPTION_RE.finditer(text)}
    title = OPTION_RE.sub(" ", text).strip()
    if not title or "locations" not in options:
        raise UsageError(N_("Give a title and the locations, for example: %(example)s"),
                         example=f"{ctx.prefix}strategy new Szczecin and Rostock 2037 "
                                 "locations=szczecin,rostock sections=culture,tourism")
    process = await ctx.services.strategies.create(
        title, split_keys(options["locations"]), split_keys(options.get("sections", "")),
        ctx.sender)
    ctx.after_commit(ctx.services.strategy_dues.wake)  # the announcements
    await ctx.reply(ctx._(N_("Strategy #%(id)d “%(title)s” is open for proposals in "
                             "%(places)s. Set the phases' ends with %(usage)s."),
                          id=process.id, title=process.title,
                          places=", ".join(ctx.deps.config.network.place(k) or k
                                           for k in split_keys(process.locations)),
                          usage=f"{ctx.prefix}strategy dates {process.id} proposals "
                                "YYYY-MM-DD HH:MM"))


@strategy.command("show", help=N_("One process: its phase, dates, sections and counts."))
@check(member)  # outsiders learn nothing of the network's strategies, nor their keys
async def show(ctx: Context, id: ProcessId) -> None:
    service = ctx.services.strategies
    process = await service.get(id)
    document = await service.document(id)
    assert document is not None
    ends = await service.ends(process)
    tz = await _timezone(ctx, process)
    lines = [messages.process_line(ctx.tr, process, len(document.proposals))]
    for phase, when in sorted(ends.items(), key=lambda kv: kv[1]):
        lines.append(ctx._(N_("%(phase)s ends %(when)s"), phase=messages.phase_name(
            ctx.tr, phase), when=event_time(when, tz, ctx.locale)))
    for section in document.sections:
        items = [p for p in document.proposals if p.section == section]
        votes = sum(p.votes_total for p in items)
        lines.append(ctx._(N_("%(section)s — proposals: %(proposals)d, votes: %(votes)d"),
                           section=messages.section_name(section), proposals=len(items),
                           votes=votes))
        for p in items:
            lines.append(f"  {p.number} · {p.place} · {ctx._(messages.STATUS_NAMES[p.status])}"
                         f" · 👍 {p.endorsements} · {messages.excerpt(p.text, 60)}")
    lines.append(ctx._(N_("Document: %(link)s"),
                       link=_shown_link(ctx, process.id, process.key, process.public)))
    await ctx.reply("\n".join(lines))


async def _timezone(ctx: Context, process: StrategyProcess) -> str:
    """The coordinator's timezone, else the first covered location's."""
    mine = await ctx.session.get(Member, ctx.sender)
    if mine is not None and mine.timezone:
        return mine.timezone
    service = ctx.services.strategies
    for spec in service.locations_of(process):
        if spec.timezone:
            return spec.timezone
    return "UTC"


@strategy.command("dates", help=N_("When a phase ends (in your timezone): proposals, "
                                   "discussion or vote."))
@check(coordinator)
async def dates(ctx: Context, id: ProcessId, phase: str, day: Day, at: Clock) -> None:
    service = ctx.services.strategies
    process = await service.get(id)
    tz = await _timezone(ctx, process)
    when = datetime.combine(day, at, tzinfo=ZoneInfo(tz))
    await service.set_end(process, phase.lower(), when)
    await ctx.reply(ctx._(N_("The %(phase)s phase of strategy #%(id)d ends %(when)s."),
                          phase=messages.phase_name(ctx.tr, phase.lower()), id=process.id,
                          when=event_time(when, tz, ctx.locale)))


@strategy.command("phase", help=N_("Move a process on by hand: discussion, vote or result."))
@check(coordinator)
async def phase(ctx: Context, id: ProcessId, to: str) -> None:
    service = ctx.services.strategies
    process = await service.advance(await service.get(id), to.lower())
    ctx.after_commit(ctx.services.strategy_dues.wake)
    await ctx.reply(ctx._(N_("Strategy #%(id)d is in the %(phase)s phase now; it is announced "
                             "in its rooms."), id=process.id,
                          phase=messages.phase_name(ctx.tr, process.phase)))


@strategy.command("answer", help=N_("Answer a proposal: accept, decline <reason> or merge "
                                    "<number>."))
@check(coordinator)
async def answer(ctx: Context, id: ProcessId, number: Number, verdict: str,
                 rest: Rest = EMPTY) -> None:
    service = ctx.services.strategies
    item = await service.answer(await service.get(id), number, verdict, rest, ctx.sender)
    await ctx.reply(ctx._(N_("Proposal %(number)d is %(status)s."), number=item.number,
                          status=ctx._(messages.STATUS_NAMES[item.status])))


@strategy.command("public", help=N_("Publish a process's document on the web, or not."))
@check(coordinator)
async def public(ctx: Context, id: ProcessId, on: OnOff) -> None:
    service = ctx.services.strategies
    process = await service.get(id)
    await service.set_public(process, on)
    link = _shown_link(ctx, process.id, process.key, process.public)
    await ctx.reply(ctx._(N_("The document of strategy #%(id)d is public: %(link)s"),
                          id=process.id, link=link) if on else
                    ctx._(N_("The document of strategy #%(id)d is private; its link carries "
                             "a key: %(link)s"), id=process.id, link=link))


@command("propose", help=N_("Propose something for a strategy's section: !propose [id] "
                            "<section> <text>."))
@check(member)
async def propose(ctx: Context, text: Rest = EMPTY) -> None:
    service = ctx.services.strategies
    first, _, rest = text.strip().partition(" ")
    line = str(text)
    digits = first.lstrip("#")
    if digits.isascii() and digits.isdecimal() and len(digits) < 10:
        process = await service.get(int(digits))
        line = rest
    else:
        process = await service.open_for_proposals(ctx.sender, ctx.room_id)
    section, _, body = line.strip().partition(" ")
    if not section or not body.strip():
        raise UsageError(N_("Which section, and what do you propose? For example: "
                            "%(example)s"),
                         example=f"{ctx.prefix}propose culture A shared residency "
                                 "programme for artists from both cities")
    item = await service.propose(process, section, body, ctx.sender, ctx.room_id,
                                 f"sbcc.strategy.{ctx.message.event_id}")
    await ctx.reply(ctx._(N_("Your proposal %(number)d is posted and shared with the other "
                             "locations."), number=item.number))


@command("amend", help=N_("Change the text of your proposal (in the proposals phase): "
                          "!amend <id> <number> <text>."))
@check(member)
async def amend(ctx: Context, id: ProcessId, number: Number, text: Rest = EMPTY) -> None:
    service = ctx.services.strategies
    item = await service.amend(await service.get(id), number, text, ctx.sender)
    await ctx.reply(ctx._(N_("Proposal %(number)d is amended; its earlier text is kept."),
                          number=item.number))


@command("vote", help=N_("Vote for a proposal (clients without polls): !vote <id> "
                         "<number>."))
@check(member)
async def vote(ctx: Context, id: ProcessId, number: Number) -> None:
    service = ctx.services.strategies
    item = await service.vote_by_command(await service.get(id), number, ctx.sender,
                                         ctx.room_id, ctx.message.event_id)
    await ctx.reply(ctx._(N_("Your vote for proposal %(number)d in “%(section)s” is counted; "
                             "a later vote replaces it."), number=item.number,
                          section=messages.section_name(item.section)))

