"""Asking the members named in a collaboration to confirm: one notice in the room where it
was recorded, in the room's language, mentioning the members who have not confirmed yet,
with ✅ offered as a reaction (✅ from one of them confirms, see `listeners.py`).

The notice's transaction id comes from the command's event and the reaction's from the
notice's, so a command that runs again (a fault, a redelivery) posts them once."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import bot.features.collaborations.messages as messages
from bot.context import txn_base
from bot.errors import GatewayError, HomeserverUnavailable
from bot.events import Outgoing

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.db.models import Collaboration
    from bot.deps import Deps

log = logging.getLogger(__name__)

CONFIRM_KEY = "✅"


def is_confirm_key(key: str) -> bool:
    """✅, with or without the emoji variation selector."""
    return key.replace("\ufe0f", "") == CONFIRM_KEY


class ConfirmationRequests:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def post(self, session: AsyncSession, collab: Collaboration, pending: list[str],
                   names: dict[str, str], room_id: str, txn_id: str) -> str:
        """Post the request; returns its event id."""
        deps = self.deps
        tr = deps.translator.bind(await deps.locales(session).room(room_id))
        text, html = messages.request(tr, deps.config.command_prefix, collab, pending, names)
        event_id = await deps.gateway.send(Outgoing(room_id, text, html,
                                                    mentions=tuple(pending), txn_id=txn_id))
        try:
            await deps.gateway.react(room_id, event_id, CONFIRM_KEY, f"{txn_id}.confirm")
        except HomeserverUnavailable:
            raise
        except GatewayError as exc:  # the notice stands; `!collab confirm` works without it
            log.warning("could not offer ✅ on the request for collaboration %d: %s",
                        collab.id, exc)
        return event_id

    async def withdraw(self, notices: list[tuple[str, str]], reason: str) -> None:
        """Redact these request notices (a member named in them asked to be forgotten). A
        notice the homeserver will not redact is logged and left: the member's data is
        erased all the same."""
        for room_id, event_id in notices:
            try:
                await self.deps.gateway.redact(room_id, event_id, reason,
                                               f"{txn_base(event_id)}.forget")
            except HomeserverUnavailable:
                raise
            except GatewayError as exc:
                log.warning("could not redact a collaboration request in %s: %s", room_id,
                            exc)
