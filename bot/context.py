"""What a command handler gets: the event, who sent it, the reader's translator, the DB
session, the services, and ways to reply."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.db import after_commit
from bot.events import Message, Outgoing
from bot.formatting import text_to_html

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.deps import Deps
    from bot.feature import Services
    from bot.i18n import BoundTranslator


def txn_base(event_id: str) -> str:
    """A transaction id prefix derived from the triggering event, stable across restarts."""
    return "sbcc." + hashlib.sha256(event_id.encode()).hexdigest()[:32]


@dataclass
class Context:
    message: Message
    deps: Deps
    session: AsyncSession
    services: Services
    tr: BoundTranslator  # the reader's language: their choice, else the room's, else default
    prefix: str
    _sends: int = field(default=0, repr=False)

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` once the command's transaction has committed (e.g. schedule jobs
        that read what the command wrote)."""
        after_commit(self.session, action)

    @property
    def sender(self) -> str:
        return self.message.sender

    @property
    def room_id(self) -> str:
        return self.message.room_id

    @property
    def locale(self) -> str:
        return self.tr.locale

    def _(self, msgid: str, **params: Any) -> str:
        return self.tr(msgid, **params)

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        return self.tr.ngettext(singular, plural, n, **params)

    def next_txn_id(self) -> str:
        """Deterministic: the n-th message sent while handling this event."""
        self._sends += 1
        return f"{txn_base(self.message.event_id)}.{self._sends}"

    async def send(self, room_id: str, text: str, html: str | None = None, *,
                   mentions: tuple[str, ...] = (), reply_to: str | None = None,
                   replaces: str | None = None) -> str:
        """Send a notice to any room (or edit one of ours: `replaces`); `html` must be built
        with `bot.formatting`."""
        out = Outgoing(
            room_id=room_id,
            body=text,
            html=html if html is not None else text_to_html(text),
            reply_to=reply_to,
            mentions=mentions,
            txn_id=self.next_txn_id(),
            replaces=replaces,
        )
        return await self.deps.gateway.send(out)

    async def send_file(self, room_id: str, data: bytes, filename: str, mimetype: str) -> str:
        """Upload `data` and post it as a file (an `m.file`, or `m.image` for images);
        encrypted in an encrypted room."""
        media = await self.deps.gateway.upload(room_id, data, mimetype, filename)
        msgtype = "m.image" if mimetype.startswith("image/") else "m.file"
        out = Outgoing(room_id=room_id, body=filename, msgtype=msgtype,
                       txn_id=self.next_txn_id(),
                       extra=(*media.items(), ("filename", filename),
                              ("info", {"mimetype": mimetype, "size": len(data)})))
        return await self.deps.gateway.send(out)

    async def reply(self, text: str, html: str | None = None) -> str:
        """Answer the command: a notice replying to it, mentioning the sender."""
        return await self.send(self.room_id, text, html, mentions=(self.sender,),
                               reply_to=self.message.event_id)
