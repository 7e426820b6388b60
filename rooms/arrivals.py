"""Membership events in network rooms: record stays, set a newcomer's defaults from the
location room, queue their welcome, and follow renames (a join→join membership event with
another display name)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.db.models import PendingWelcome
from bot.deps import Deps
from bot.events import MembershipChange, RoomEvent
from bot.members import MemberService
from bot.sync_store import is_handled, mark_handled
from bot.text import clean_name
from rooms.membership import MembershipService
from rooms.network import NetworkRooms
from rooms.welcome import Welcomer

log = logging.getLogger(__name__)


class Arrivals:
    def __init__(self, deps: Deps, welcomer: Welcomer) -> None:
        self.deps = deps
        self.welcomer = welcomer

    def _when(self, event: MembershipChange) -> datetime:
        if event.timestamp_ms:
            return datetime.fromtimestamp(event.timestamp_ms / 1000, UTC)
        return self.deps.clock()

    @staticmethod
    async def _renamed(members: MemberService, mxid: str, name: str | None) -> None:
        """A member changed their profile: the stored name follows (none when they removed
        theirs). Nobody is made a member by a rename."""
        member = await members.get(mxid)
        if member is not None and member.display_name != name:
            member.display_name = name

    async def on_event(self, event: RoomEvent) -> None:
        if not isinstance(event, MembershipChange) or event.user_id == self.deps.gateway.user_id:
            return
        welcome = False
        async with self.deps.db.session() as session:
            room = await NetworkRooms(session, self.deps.config.network).by_room_id(
                event.room_id)
            if room is None or await is_handled(session, event.event_id):
                return
            memberships = MembershipService(session, self.deps.clock)
            first_time = not await memberships.ever_member(event.room_id, event.user_id)
            change = await memberships.apply(event, self._when(event))
            members = MemberService(session, self.deps.clock)
            name = clean_name(event.display_name)
            if event.membership == "join" and event.prev_membership == "join":
                await self._renamed(members, event.user_id, name)
            if change == "joined":
                member = await members.get_or_create(event.user_id, name)
                if room.spec.kind == "location" and first_time:
                    if member.location is None:
                        await members.set_location(member, room.spec.key)
                    member.language = member.language or room.spec.language
                    member.timezone = member.timezone or room.spec.timezone
                    session.add(PendingWelcome(event_id=event.event_id, room_id=event.room_id,
                                               mxid=event.user_id, joined_at=self._when(event)))
                    welcome = True
            mark_handled(session, event.event_id, event.room_id, self.deps.clock())
        if change in ("joined", "left"):
            log.info("%s %s %s", event.user_id, change, event.room_id)
        if welcome:
            self.welcomer.schedule(event.room_id)
