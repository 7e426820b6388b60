"""What a command handler gets: the event, who sent it, the locale, the DB session,
services, and ways to reply and translate."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.events import Message, Outgoing
from bot.formatting import text_to_html

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.deps import Deps
    from bot.services import Services
    from commands.registry import Command


def txn_base(event_id: str) -> str:
    """A transaction id prefix derived from the triggering event, stable across restarts."""
    return "sbcc." + hashlib.sha256(event_id.encode()).hexdigest()[:32]


@dataclass
class Context:
    message: Message
    deps: Deps
    session: AsyncSession
    services: Services
    locale: str
    prefix: str
    command: Command | None = None
    is_direct: bool = False
    _sends: int = field(default=0, repr=False)
    _after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` once the command's transaction has committed (e.g. schedule jobs
        that read what the command wrote)."""
        self._after_commit.append(action)

    async def run_after_commit(self) -> None:
        for action in self._after_commit:
            await action()

    @property
    def sender(self) -> str:
        return self.message.sender

    @property
    def room_id(self) -> str:
        return self.message.room_id

    def _(self, msgid: str, **params: Any) -> str:
        return self.deps.translator.gettext(msgid, self.locale, **params)

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        return self.deps.translator.ngettext(singular, plural, n, self.locale, **params)

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
        """Upload `data` and post it as a file (an `m.file`, or `m.image` for images)."""
        url = await self.deps.gateway.upload(data, mimetype, filename)
        msgtype = "m.image" if mimetype.startswith("image/") else "m.file"
        out = Outgoing(room_id=room_id, body=filename, msgtype=msgtype,
                       txn_id=self.next_txn_id(),
                       extra=(("url", url), ("filename", filename),
                              ("info", {"mimetype": mimetype, "size": len(data)})))
        return await self.deps.gateway.send(out)

    async def reply(self, text: str, html: str | None = None) -> str:
        """Answer the command: a notice replying to it, mentioning the sender."""
        return await self.send(self.room_id, text, html, mentions=(self.sender,),
                               reply_to=self.message.event_id)
