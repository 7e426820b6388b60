"""What a requester does on their private status page: read the conversation (the network's
answers and their own replies), reply, and rate the help they got.

A reply works like a help desk's: it brings an answered request back to its advisor (or,
without one, back to "new"), and it reopens a closed request. The reply is stored as an
`AdviceMessage` ("in", pending); whoever calls `reply` delivers it into the case room
after the transaction has committed (a retry job delivers what is still pending).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AdviceMessage, AdvisoryRequest
from bot.errors import UserError
from bot.features.advice.history import REQUESTER, record
from bot.i18n import N_
from bot.text import clean_block

REPLY_MAX = 4000
COMMENT_MAX = 2000
STARS = range(1, 6)
RATEABLE = ("answered", "closed")

ERASED = N_("This request was closed a while ago and your e-mail address has been erased, so "
            "you cannot reply any more. Please send a new request.")
REPLY_EMPTY = N_("Please write your reply.")
REPLY_TOO_LONG = N_("Your reply has %(length)d characters; please write at most %(max)d.")
NOT_YET = N_("You can rate once you have an answer.")
BAD_STARS = N_("Please choose between %(min)d and %(max)d stars.")
COMMENT_TOO_LONG = N_("Your comment has %(length)d characters; please write at most "
                      "%(max)d.")


class RequesterService:
    def __init__(self, session: AsyncSession, clock: Callable[[], datetime]) -> None:
        self.session = session
        self.clock = clock

    async def conversation(self, request: AdvisoryRequest) -> list[AdviceMessage]:
        """The answers ("out") and replies ("in") of `request`, oldest first."""
        return list((await self.session.scalars(
            select(AdviceMessage).where(AdviceMessage.request_id == request.id)
            .order_by(AdviceMessage.created_at, AdviceMessage.id))).all())

    async def reply(self, request: AdvisoryRequest, text: str) -> AdviceMessage:
        """Store the requester's reply (pending delivery) and move the request: answered →
        back to its assignee ("claimed") or "new"; closed → reopened the same way. Raises
        `UserError` for an empty or too long text, or once the e-mail address is erased
        (the conversation is over: nobody could answer)."""
        if request.email is None:
            raise UserError(ERASED)
        clean = clean_block(text or "")
        if not clean:
            raise UserError(REPLY_EMPTY)
        if len(clean) > REPLY_MAX:
            raise UserError(REPLY_TOO_LONG, length=len(clean), max=REPLY_MAX)
        now = self.clock()
        message = AdviceMessage(request_id=request.id, direction="in", author=None,
                                text=clean, created_at=now, state="pending", attempts=0)
        self.session.add(message)
        reopened = request.status == "closed"
        if request.status in RATEABLE:
            request.status = "claimed" if request.assignee else "new"
        record(self.session, request, REQUESTER, "replied", now)
        if reopened:
            request.closed_at, request.outcome = None, None
            record(self.session, request, REQUESTER, "reopened", now)
        await self.session.flush()
        return message

    async def rate(self, request: AdvisoryRequest, stars: int, comment: str) -> None:
        """Rate the help (1–5 stars, an optional comment): once there is an answer; a new
        rating replaces the one before. Raises `UserError`."""
        if request.status not in RATEABLE or request.answered_at is None:
            raise UserError(NOT_YET)
        if isinstance(stars, bool) or not isinstance(stars, int) or stars not in STARS:
            raise UserError(BAD_STARS, min=STARS[0], max=STARS[-1])
        clean = clean_block(comment or "")
        if len(clean) > COMMENT_MAX:
            raise UserError(COMMENT_TOO_LONG, length=len(clean), max=COMMENT_MAX)
        now = self.clock()
        request.rating, request.rating_comment, request.rated_at = stars, clean or None, now
        # not activity: re-rating must not keep an answered request from closing
        record(self.session, request, REQUESTER, "rated", now, f"{stars}", activity=False)
        await self.session.flush()
