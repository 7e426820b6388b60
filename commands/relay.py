"""!share and !announce — what happens in one room reaches the others."""

from __future__ import annotations

import logging

from bot.context import Context
from bot.errors import GatewayError, UsageError, UserError
from bot.features.relays.service import Relays, split_languages, version_for
from bot.formatting import fill, pill
from bot.framework.checks import coordinator
from bot.framework.command import Rest, check, command
from bot.i18n import N_
from commands.network import not_provisioned
from rooms.network import KnownRoom
from rooms.settings import RoomSettingsService

log = logging.getLogger(__name__)


@command("share", help=N_("Share something from your location room with the topic rooms it "
                          "concerns (#hashtags, else your tags), or with --all location rooms."))
async def share(ctx: Context, text: Rest) -> None:
    everywhere = text.startswith("--all")
    body = text.removeprefix("--all").strip()
    if not body:
        raise UsageError(N_("Something is missing: %(name)s."), name="text")
    relays = Relays(ctx.session, ctx.deps)
    await relays.check_rate(ctx.sender)
    targets = await relays.share_targets(ctx.room_id, ctx.sender, body, everywhere)
    if not targets:
        raise UserError(N_("No topic room matches. Add a #hashtag such as %(example)s, or use "
                           "%(all)s."), example="#video", all=f"{ctx.prefix}share --all")
    here = next(r for r in await relays.rooms.known() if r.room_id == ctx.room_id)
    member = await ctx.services.members.get(ctx.sender)
    who = pill(ctx.sender, member.display_name if member else None)
    settings = RoomSettingsService(ctx.session)
    failed = []
    for room in targets:
        locale = await settings.language(room.room_id) or ctx.deps.config.default_language
        template = ctx.deps.translator.gettext(N_("📣 %(who)s from %(place)s shares: %(text)s"),
                                               locale)
        out_text, out_html = fill(template, who=who, place=here.spec.name, text=body)
        if not await _post(ctx, room.room_id, out_text, out_html, (ctx.sender,)):
            failed.append(room)
    relays.record(ctx.sender, ctx.room_id)
    reached = [r.spec.name for r in targets if r not in failed]
    await ctx.reply(_outcome(ctx, ctx._(N_("Shared to: %(rooms)s."), rooms=", ".join(reached)),
                             failed))


async def _post(ctx: Context, room_id: str, text: str, html: str,
                mentions: tuple[str, ...] = ()) -> bool:
    """Post into one room; a room that refuses (4xx) is reported, not fatal for the rest."""
    try:
        await ctx.send(room_id, text, html, mentions=mentions)
        return True
    except GatewayError as exc:
        log.warning("could not relay into %s: %s", room_id, exc)
        return False


def _outcome(ctx: Context, done: str, failed: list[KnownRoom]) -> str:
    if not failed:
        return done
    return done + " " + ctx._(N_("I could not post in: %(rooms)s."),
                              rooms=", ".join(r.spec.name for r in failed))


@command("announce", help=N_("Post an announcement to every network room; give versions "
                             "like “en: … | pl: … | de: …” for each room's language."))
@check(coordinator)
async def announce(ctx: Context, text: Rest) -> None:
    versions = split_languages(text)
    relays = Relays(ctx.session, ctx.deps)
    rooms = await relays.all_rooms()
    if not rooms:
        raise not_provisioned(ctx)
    settings = RoomSettingsService(ctx.session)
    failed = []
    for room in rooms:
        language = await settings.language(room.room_id) or ctx.deps.config.default_language
        body = version_for(versions, language)
        title = ctx.deps.translator.gettext(N_("📢 Announcement from the coordinators"),
                                            language)
        out_text, out_html = fill("%(title)s\n%(body)s", title=title, body=body)
        if not await _post(ctx, room.room_id, out_text, out_html):
            failed.append(room)
    done = ctx.ngettext("Announced in %(num)d room.", "Announced in %(num)d rooms.",
                        len(rooms) - len(failed))
    await ctx.reply(_outcome(ctx, done, failed))
