"""!profile, !set, !offer, !need — a member's profile card and what they offer and need."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from babel.dates import format_time

from bot.context import Context
from bot.errors import BadArgument, UsageError, UserError
from bot.features.profiles.service import (
    MAX_TAGS_PER_KIND,
    TAG_SEPARATORS,
    language_names,
    location_label,
    normalise_tag,
    parse_tags,
    profile_card,
)
from bot.framework.command import Rest, command
from bot.framework.converters import parse_switch, user_argument
from bot.framework.parsing import unquote_value
from bot.i18n import N_


@command("profile", help=N_("Show your profile card, or someone else's."))
async def profile(ctx: Context, user: Rest = "") -> None:
    target = user_argument(ctx, user) if user else ctx.sender
    profiles = ctx.services.profiles
    found = await profiles.get(target)
    if found is None and target.lower() != target:
        found = await profiles.get(target.lower())
    if found is None:
        raise UserError(N_("I have not met %(user)s yet, so I know nothing about them."),
                        user=target)
    text, html = profile_card(found.member, found.offers, found.needs, ctx._, ctx.locale,
                              ctx.deps.config.network, own=found.member.mxid == ctx.sender,
                              prefix=ctx.prefix)
    await ctx.reply(text, html)


# -- !set ------------------------------------------------------------------------------

Setter = Callable[[Context, str], Awaitable[str]]


async def _set_organisation(ctx: Context, value: str) -> str:
    org = await ctx.services.profiles.set_organisation(ctx.sender, value)
    return ctx._(N_("Your organisation is now: %(organisation)s"), organisation=org)


async def _set_location(ctx: Context, value: str) -> str:
    network = ctx.deps.config.network
    spec = await ctx.services.profiles.set_location(ctx.sender, value, network)
    return ctx._(N_("Your location is now: %(location)s"),
                 location=location_label(spec.key, network, ctx.locale))


async def _set_languages(ctx: Context, value: str) -> str:
    codes = await ctx.services.profiles.set_languages(ctx.sender, value)
    return ctx._(N_("The languages you speak: %(languages)s"),
                 languages=", ".join(language_names(codes, ctx.locale)))


async def _set_timezone(ctx: Context, value: str) -> str:
    name = await ctx.services.profiles.set_timezone(ctx.sender, value)
    now = format_time(ctx.deps.clock().astimezone(ZoneInfo(name)), format="short",
                      locale=ctx.locale)
    return ctx._(N_("Your timezone is now %(timezone)s (it is %(time)s there now)."),
                 timezone=name, time=now)


async def _set_bio(ctx: Context, value: str) -> str:
    await ctx.services.profiles.set_bio(ctx.sender, value)
    usage = f"{ctx.prefix}profile"
    return ctx._(N_("Your bio is saved. See it with %(usage)s."), usage=usage)


async def _set_connect(ctx: Context, value: str) -> str:
    on = parse_switch(value)
    member = await ctx.services.members.get_or_create(ctx.sender)
    member.connect_ok = on
    if on:
        return ctx._(N_("Others can now introduce themselves to you with %(connect)s, and you "
                        "show up in their matches."), connect=f"{ctx.prefix}connect")
    return ctx._(N_("Nobody can open an introduction with you now, and you are left out of "
                    "matches. Switch back with %(usage)s."), usage=f"{ctx.prefix}set connect on")


SETTERS: dict[str, Setter] = {
    "connect": _set_connect,
    "org": _set_organisation,
    "organisation": _set_organisation,
    "organization": _set_organisation,
    "location": _set_location,
    "languages": _set_languages,
    "langs": _set_languages,
    "tz": _set_timezone,
    "timezone": _set_timezone,
    "bio": _set_bio,
}
FIELD_NAMES = "org, location, languages, tz, bio, connect"


@command("set", help=N_("Set part of your profile: org, location, languages, tz, bio, or "
                        "connect on|off."))
async def set_(ctx: Context, field: str, value: Rest) -> None:
    setter = SETTERS.get(field.casefold())
    if setter is None:
        raise BadArgument(N_("“%(field)s” is not something I can set. Choose one of: "
                             "%(fields)s."), field=field[:40], fields=FIELD_NAMES)
    value = unquote_value(value)
    if not value:
        raise UsageError(N_("Something is missing: %(name)s."), name="value")
    await ctx.reply(await setter(ctx, value))


# -- !offer, !need ---------------------------------------------------------------------


def _count(ctx: Context, kind: str, num: int) -> str:
    if kind == "offer":
        return ctx._(N_("You now offer %(num)d of at most %(max)d tags."), num=num,
                     max=MAX_TAGS_PER_KIND)
    return ctx._(N_("Your needs now list %(num)d of at most %(max)d tags."), num=num,
                 max=MAX_TAGS_PER_KIND)


def _not_there(ctx: Context, kind: str, tags: list[str]) -> str:
    msgid = (N_("Not among your offers: %(tags)s.") if kind == "offer"
             else N_("Not among your needs: %(tags)s."))
    return ctx._(msgid, tags=", ".join(tags))


async def _show(ctx: Context, kind: str) -> None:
    tags = await ctx.services.profiles.tags(ctx.sender, kind)
    add = f"{ctx.prefix}{kind} <tag, tag…>"
    if not tags:
        msgid = (N_("You do not offer anything yet. Add tags with %(add)s, for example: "
                    "%(example)s") if kind == "offer" else
                 N_("You have not listed any needs yet. Add tags with %(add)s, for example: "
                    "%(example)s"))
        example = (f"{ctx.prefix}offer video, 3d animation" if kind == "offer"
                   else f"{ctx.prefix}need funding, translation")
        await ctx.reply(ctx._(msgid, add=add, example=example))
        return
    msgid = (N_("You offer: %(tags)s (%(num)d of at most %(max)d). Add more with %(add)s, "
                "remove one with %(remove)s.") if kind == "offer" else
             N_("You need: %(tags)s (%(num)d of at most %(max)d). Add more with %(add)s, "
                "remove one with %(remove)s."))
    remove = f"{ctx.prefix}{kind} remove <tag>"
    await ctx.reply(ctx._(msgid, tags=", ".join(tags), num=len(tags), max=MAX_TAGS_PER_KIND,
                          add=add, remove=remove))


async def _remove(ctx: Context, kind: str, text: str) -> None:
    wanted: list[str] = []
    for part in TAG_SEPARATORS.split(text):
        if part.strip():
            try:
                tag = normalise_tag(part)
            except BadArgument:
                tag = " ".join(part.split())[:40]  # cannot be stored; reported as not there
            if tag not in wanted:
                wanted.append(tag)
    if not wanted:
        raise UsageError(N_("Which tag should I remove? For example: %(example)s"),
                         example=f"{ctx.prefix}{kind} remove video")
    profiles = ctx.services.profiles
    removed, missing = [], []
    for tag in wanted:
        (removed if await profiles.remove_tag(ctx.sender, kind, tag) else missing).append(tag)
    if not removed:
        raise UserError(N_("Not among your offers: %(tags)s.") if kind == "offer"
                        else N_("Not among your needs: %(tags)s."), tags=", ".join(missing))
    parts = [ctx._(N_("Removed: %(tags)s."), tags=", ".join(removed))]
    if missing:
        parts.append(_not_there(ctx, kind, missing))
    parts.append(_count(ctx, kind, len(await profiles.tags(ctx.sender, kind))))
    await ctx.reply(" ".join(parts))


async def _tags_command(ctx: Context, kind: str, text: str) -> None:
    text = unquote_value(text)
    if not text:
        await _show(ctx, kind)
        return
    first, *rest = text.split(None, 1)
    if first.casefold() == "remove":
        await _remove(ctx, kind, rest[0] if rest else "")
        return
    profiles = ctx.services.profiles
    added, already = await profiles.add_tags(ctx.sender, kind, parse_tags(text))
    parts = []
    if added:
        parts.append(ctx._(N_("Added: %(tags)s."), tags=", ".join(added)))
    if already:
        parts.append(ctx._(N_("Already there: %(tags)s."), tags=", ".join(already)))
    parts.append(_count(ctx, kind, len(await profiles.tags(ctx.sender, kind))))
    await ctx.reply(" ".join(parts))


@command("offer", help=N_("Say what you offer, as tags separated by commas; "
                          "“remove <tag>” takes one away."))
async def offer(ctx: Context, tags: Rest = "") -> None:
    await _tags_command(ctx, "offer", tags)


@command("need", help=N_("Say what you need, as tags separated by commas; "
                         "“remove <tag>” takes one away."))
async def need(ctx: Context, tags: Rest = "") -> None:
    await _tags_command(ctx, "need", tags)
