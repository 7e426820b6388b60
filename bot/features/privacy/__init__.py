"""Privacy: a member sees (`!mydata`) and erases (`!forget-me`) what the network holds about
them, `!privacy` says what is stored, why, for how long and who sees it, and what is only
kept for a while is pruned (`privacy:` in the config)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SectionSpec
from bot.db.models import Member
from bot.feature import Feature, PersonalData, Wiring
from bot.features.advice.config import WorkflowConfig
from bot.features.privacy.config import PrivacyConfig, parse_privacy
from bot.features.privacy.service import PrivacyService
from bot.i18n import N_
from bot.members import note_change
from bot.sync_store import prune_handled
from bot.undecrypted import KeptEvents

MEMBER_FIELDS = ("display_name", "language", "timezone", "first_seen", "organisation",
                 "location", "languages", "bio", "intro_at", "connect_ok", "rounds",
                 "showcase")


async def export_member(session: AsyncSession, mxid: str) -> dict[str, object]:
    member = await session.get(Member, mxid)
    return {} if member is None else {f: getattr(member, f) for f in MEMBER_FIELDS}


async def erase_member(session: AsyncSession, mxid: str, _alias: str) -> int:
    member = await session.scalar(select(Member).where(Member.mxid == mxid))
    if member is None:
        return 0
    await session.delete(member)
    note_change(session, mxid)  # its tags go with it (ON DELETE CASCADE)
    return 1


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    config = deps.config.section(PrivacyConfig)
    # the member record itself: first in the export, erased after everything else
    wiring.holds(PersonalData(
        "member", N_("your member record: name, language, timezone, organisation, location, "
                     "languages, bio and your choices (matches, rounds, showcase)"),
        export_member, erase_member))
    wiring.holds(PersonalData(
        "unreadable_messages", N_("encrypted messages of yours the bot could not read yet "
                                  "(kept encrypted, only until their key arrives)"),
        lambda session, mxid: KeptEvents(session).export(mxid),
        lambda session, mxid, _alias: KeptEvents(session).erase(mxid)))
    parts = wiring.personal_data  # the features after this one add theirs to the same list
    # the advice feature keeps requesters' addresses by its own section's `retention`
    retention = config.retention() | {
        "advice_emails": deps.config.section(WorkflowConfig).retention}
    wiring.service("privacy",
                   lambda session: PrivacyService(session, parts, deps.clock, retention))

    async def prune() -> None:
        async with deps.db.session() as session:
            await prune_handled(session, deps.clock(), config.handled_events.delta)
            await KeptEvents(session).prune(deps.clock(), config.handled_events.delta)

    wiring.job(prune, "interval", id="prune-handled-events", hours=1,
               next_run_time=deps.clock() + timedelta(minutes=1), coalesce=True)


FEATURE = Feature("privacy", setup, config=(SectionSpec("privacy", parse_privacy),))
