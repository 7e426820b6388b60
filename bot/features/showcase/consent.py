"""Consent: what a member allows to be shown in public (`!consent`). Today one choice, the
public showcase, off until the member switches it on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.members import MemberService

TOPICS = ("showcase",)  # what a member can consent to


class ConsentService:
    def __init__(self, members: MemberService) -> None:
        self.members = members

    async def showcase(self, mxid: str) -> bool:
        """Whether the member appears in the public showcase (not until they say so)."""
        member = await self.members.get(mxid)
        return member is not None and member.showcase

    async def set_showcase(self, mxid: str, on: bool) -> None:
        """Join the showcase, or leave it: from the next page fetched on, the member and
        every collaboration they are part of are shown, or not."""
        member = await self.members.get_or_create(mxid)
        member.showcase = on
