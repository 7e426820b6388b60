"""!share and !announce — what happens in one room reaches the others."""

from __future__ import annotations

from bot.context import Context
from bot.errors import UsageError, UserError
from bot.formatting import fill, pill
from bot.i18n import N_
from commands.checks import coordinator
from commands.registry import Rest, check, command
from rooms.relays import Relays, split_languages, version_for
from rooms.settings import RoomSettingsService


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
    for room in targets:
        locale = await settings.language(room.room_id) or ctx.deps.config.default_language
        template = ctx.deps.translator.gettext(N_("📣 %(who)s from %(place)s shares: %(text)s"),
                                               locale)
        out_text, out_html = fill(template, who=who, place=here.spec.name, text=body)
        await ctx.send(room.room_id, out_text, out_html, mentions=(ctx.sender,))
    relays.record(ctx.sender, ctx.room_id)
    await ctx.reply(ctx._(N_("Shared to: %(rooms)s."),
                          rooms=", ".join(r.spec.name for r in targets)))


@command("announce", help=N_("Post an announcement to every network room; give versions "
                             "like “en: … | pl: … | de: …” for each room's language."))
@check(coordinator)
async def announce(ctx: Context, text: Rest) -> None:
    versions = split_languages(text)
    relays = Relays(ctx.session, ctx.deps)
    rooms = await relays.all_rooms()
    if not rooms:
        raise UserError(N_("The network's rooms are not set up yet; a coordinator can run "
                           "%(command)s."), command=f"{ctx.prefix}provision")
    settings = RoomSettingsService(ctx.session)
    for room in rooms:
        language = await settings.language(room.room_id) or ctx.deps.config.default_language
        body = version_for(versions, language)
        title = ctx.deps.translator.gettext(N_("📢 Announcement from the coordinators"),
                                            language)
        out_text, out_html = fill("%(title)s\n%(body)s", title=title, body=body)
        await ctx.send(room.room_id, out_text, out_html)
    await ctx.reply(ctx.ngettext("Announced in %(num)d room.", "Announced in %(num)d rooms.",
                                 len(rooms)))
