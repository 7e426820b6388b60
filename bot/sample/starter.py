"""A starter profile for a real account, so that `!match` meets the sample at once."""

from __future__ import annotations

from bot.config import Config
from bot.db import Database
from bot.deps import utcnow
from bot.features.profiles.config import TagsConfig
from bot.features.profiles.service import ProfileService
from bot.members import MemberService
from bot.sample.summary import Sample


async def starter_profile(db: Database, config: Config, mxid: str, sample: Sample) -> bool:
    """Give a real account (the demo's coordinator) a profile that meets the sample — at the
    first location, offering what the sample needs most and needing what it offers most —
    through the same services the commands use, so `!match` answers at once. An account
    that already offers or needs something is left as it is (False)."""
    canonical = config.section(TagsConfig).canonical
    async with db.session() as session:
        profiles = ProfileService(session, utcnow, canonical)
        if await profiles.tags(mxid, "offer") or await profiles.tags(mxid, "need"):
            return False
        member = await MemberService(session, utcnow).get_or_create(mxid)
        if member.location is None and config.network.locations:
            await profiles.set_location(mxid, config.network.locations[0])
        member.organisation = member.organisation or "SBCC Secretariat"
        needs = [t for t in sample.popular_offers][:2]
        offers = [t for t in sample.popular_needs if t not in needs][:2]
        if offers:
            await profiles.add_tags(mxid, "offer", offers)
        if needs:
            await profiles.add_tags(mxid, "need", needs)
    return True
