"""!profile, !set, !offer, !need — a member's profile card and what they offer and need.

Your own card is yours to see wherever you ask; someone else's only for members of the
network (it shows needs, bio, languages and timezone). `!set <field> -` clears a field."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from babel.dates import format_time

from bot.context import Context
from bot.errors import NotAllowed, UsageError, UserError
from bot.features.profiles.messages import profile_card
from bot.features.profiles.service import (
    MAX_TAGS_PER_KIND,
    TagChange,
    is_clear,
    language_names,
    removal_tags,
)
from bot.framework import OnOff, Rest, command, group, is_member, member, subcommands
from bot.framework.converters import user_argument
from bot.framework.parsing import unquote_value
from bot.i18n import N_
from bot.text import shown
from rooms.topology import RoomSpec

SHOWN_TAGS = 200  # how much of a list of tags not found a reply repeats


@command("profile", help=N_("Show your profile card, or someone else's."))
async def profile(ctx: Context, user: Rest | None = None) -> None:
    target = user_argument(ctx, user) if user else ctx.sender
    if target != ctx.sender and not await is_member(ctx):
        # before looking: an outsider does not even learn whether the bot knows someone
        raise NotAllowed(member.denied, prefix=ctx.prefix)
    found = await ctx.services.profiles.find(target)
    text, html = profile_card(found.member, found.offers, found.needs, ctx.tr,
                              ctx.deps.config.network, own=found.member.mxid == ctx.sender,
                              prefix=ctx.prefix)
    await ctx.reply(text, html)


# -- !set ------------------------------------------------------------------------------

set_ = subcommands("set", help=N_("Set part of your profile: org, location, languages, tz, "
                                  "bio (“-” clears one), connect on|off, or advisor "
                                  "on [tags]|off."))

CLEARED = {
    "organisation": N_("Your organisation is removed from your profile."),
    "location": N_("Your location is removed from your profile."),
    "languages": N_("Your languages are removed from your profile."),
    "timezone": N_("Your timezone is removed from your profile."),
    "bio": N_("Your bio is removed from your profile."),
}


def _value(value: str) -> str:
    """The value as typed, without the quotes around it; never empty."""
    value = unquote_value(value)
    if not value:
        raise UsageError(N_("Something is missing: %(name)s."), name="value")
    return value


async def _clear(ctx: Context, field: str) -> None:
    await ctx.services.profiles.clear(ctx.sender, field)
    await ctx.reply(ctx._(CLEARED[field]))


async def _cleared(ctx: Context, value: str, field: str) -> bool:
    """`!set <field> -`: clear the field and say so (True), else False."""
    if not is_clear(value):
        return False
    await _clear(ctx, field)
    return True


class LocationOrClear:
    """A configured location (see `Location`), or "-" to clear it (None)."""

    metavar = "location"

    @staticmethod
    async def convert(ctx: Context, raw: str) -> RoomSpec | None:
        if is_clear(unquote_value(raw)):
            return None
        return ctx.deps.config.network.find_location(raw)


PlaceOrClear = Annotated[RoomSpec | None, LocationOrClear]


@set_.command("org", help=N_("Set the name of your organisation."),
              aliases=("organisation", "organization"))
async def set_organisation(ctx: Context, value: Rest) -> None:
    if await _cleared(ctx, _value(value), "organisation"):
        return
    org = await ctx.services.profiles.set_organisation(ctx.sender, _value(value))
    await ctx.reply(ctx._(N_("Your organisation is now: %(organisation)s"), organisation=org))


@set_.command("location", help=N_("Set your location: one of the network's places."))
async def set_location(ctx: Context, value: PlaceOrClear) -> None:
    if value is None:
        await _clear(ctx, "location")
        return
    spec = await ctx.services.profiles.set_location(ctx.sender, value)
    await ctx.reply(ctx._(N_("Your location is now: %(location)s"),
                          location=ctx.deps.config.network.place(spec.key, ctx.locale)))


@set_.command("languages", help=N_("Set the languages you speak, as codes like pl, en, de."),
              aliases=("langs",))
async def set_languages(ctx: Context, value: Rest) -> None:
    if await _cleared(ctx, _value(value), "languages"):
        return
    codes = await ctx.services.profiles.set_languages(ctx.sender, _value(value))
    await ctx.reply(ctx._(N_("The languages you speak: %(languages)s"),
                          languages=", ".join(language_names(codes, ctx.locale))))


@set_.command("tz", help=N_("Set your timezone, like Europe/Warsaw."), aliases=("timezone",))
async def set_timezone(ctx: Context, value: Rest) -> None:
    if await _cleared(ctx, _value(value), "timezone"):
        return
    name = await ctx.services.profiles.set_timezone(ctx.sender, _value(value))
    now = format_time(ctx.deps.clock().astimezone(ZoneInfo(name)), format="short",
                      locale=ctx.locale)
    await ctx.reply(ctx._(N_("Your timezone is now %(timezone)s (it is %(time)s there now)."),
                          timezone=name, time=now))


@set_.command("bio", help=N_("Set your bio: a few sentences about you and your work."))
async def set_bio(ctx: Context, value: Rest) -> None:
    if await _cleared(ctx, _value(value), "bio"):
        return
    await ctx.services.profiles.set_bio(ctx.sender, _value(value))
    await ctx.reply(ctx._(N_("Your bio is saved. See it with %(usage)s."),
                          usage=f"{ctx.prefix}profile"))


@set_.command("connect", help=N_("Let others introduce themselves to you and find you in "
                                 "matches (on), or not (off)."))
async def set_connect(ctx: Context, value: OnOff) -> None:
    if await ctx.services.profiles.set_connect(ctx.sender, value):
        await ctx.reply(ctx._(N_("Others can now introduce themselves to you with %(connect)s, "
                                 "and you show up in their matches."),
                              connect=f"{ctx.prefix}connect"))
    else:
        await ctx.reply(ctx._(N_("Nobody can open an introduction with you now, and you are "
                                 "left out of matches. Switch back with %(usage)s."),
                              usage=f"{ctx.prefix}set connect on"))


# -- !offer, !need ---------------------------------------------------------------------


def _count(ctx: Context, kind: str, num: int) -> str:
    if kind == "offer":
        return ctx._(N_("You now offer %(num)d of at most %(max)d tags."), num=num,
                     max=MAX_TAGS_PER_KIND)
    return ctx._(N_("Your needs now list %(num)d of at most %(max)d tags."), num=num,
                 max=MAX_TAGS_PER_KIND)


def _not_there(kind: str) -> str:
    return (N_("Not among your offers: %(tags)s.") if kind == "offer"
            else N_("Not among your needs: %(tags)s."))


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


async def _add(ctx: Context, kind: str, tags: str | None) -> None:
    text = unquote_value(tags or "")
    if not text:
        await _show(ctx, kind)
        return
    change: TagChange = await ctx.services.profiles.add(ctx.sender, kind, text)
    parts = []
    if change.changed:
        parts.append(ctx._(N_("Added: %(tags)s."), tags=", ".join(change.changed)))
    if change.unchanged:
        parts.append(ctx._(N_("Already there: %(tags)s."), tags=", ".join(change.unchanged)))
    parts.append(_count(ctx, kind, change.total))
    await ctx.reply(" ".join(parts))


async def _remove(ctx: Context, kind: str, tags: str | None) -> None:
    wanted = removal_tags(unquote_value(tags or ""))
    if not wanted:
        raise UsageError(N_("Which tag should I remove? For example: %(example)s"),
                         example=f"{ctx.prefix}{kind} remove video")
    change: TagChange = await ctx.services.profiles.remove(ctx.sender, kind, wanted)
    # what was removed was stored (a few); what was not there may be thousands: cut short
    missing = shown(", ".join(change.unchanged), SHOWN_TAGS)
    if not change.changed:
        raise UserError(_not_there(kind), tags=missing)
    parts = [ctx._(N_("Removed: %(tags)s."), tags=", ".join(change.changed))]
    if change.unchanged:
        parts.append(ctx._(_not_there(kind), tags=missing))
    parts.append(_count(ctx, kind, change.total))
    await ctx.reply(" ".join(parts))


@group("offer", help=N_("Say what you offer, as tags separated by commas; "
                        "“remove <tag>” takes one away."))
async def offer(ctx: Context, tags: Rest | None = None) -> None:
    await _add(ctx, "offer", tags)


@offer.command("remove", help=N_("Take tags away from what you offer."))
async def offer_remove(ctx: Context, tags: Rest | None = None) -> None:
    await _remove(ctx, "offer", tags)


@group("need", help=N_("Say what you need, as tags separated by commas; "
                       "“remove <tag>” takes one away."))
async def need(ctx: Context, tags: Rest | None = None) -> None:
    await _add(ctx, "need", tags)


@need.command("remove", help=N_("Take tags away from what you need."))
async def need_remove(ctx: Context, tags: Rest | None = None) -> None:
    await _remove(ctx, "need", tags)
