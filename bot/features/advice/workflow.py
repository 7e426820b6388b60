"""A request's life after the form: new → claimed → answered → closed (with an outcome),
and reopened; every change recorded with who and when (`history.record`), the notice
edited to match (`Notices`), a private case room opened on the first claim.

`CaseService` is built per command (one transaction); what it sends goes out inside that
transaction with transaction ids derived from the request, so a command redelivered after
a crash sends nothing twice. Answers to the requester are outbox rows
(`AdviceMessage`), delivered after the commit (`Outbox`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AdviceMessage, Advisor, AdvisoryRequest, Member
from bot.errors import GatewayError, HomeserverUnavailable, UserError
from bot.events import Outgoing
from bot.features.advice.advisors import AdvisorPool
from bot.features.advice.config import WorkflowConfig
from bot.features.advice.history import history, record
from bot.features.advice.messages import SECTOR_LABELS, STATE_NAMES
from bot.features.advice.notices import Notices
from bot.features.advice.service import REF_ALPHABET, REF_LENGTH, REF_PREFIX, REF_RE
from bot.features.advice.stats import OUTCOMES
from bot.features.advice.views import Case, case_intro
from bot.i18n import N_, BoundTranslator
from bot.text import clean_block
from rooms.private import private_room

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

OPEN = ("new", "claimed", "answered")
ANSWER_MAX = 4000
NOTE_MAX = 1000
LIST_LIMIT = 20
OUTCOME_KEYS = tuple(key for key, _ in OUTCOMES)
NO_SUCH = N_("There is no advisory request %(ref)s.")


def normal_ref(raw: str) -> str | None:
    """"adv-7kq2mx", "7KQ2MX" → "ADV-7KQ2MX"; None when it cannot be a reference."""
    text = raw.strip().upper()
    if not text.startswith(REF_PREFIX) and len(text) == REF_LENGTH:
        text = REF_PREFIX + text
    return text if REF_RE.fullmatch(text) else None


def looks_like_ref(raw: str) -> bool:
    text = raw.strip().upper()
    return text.startswith(REF_PREFIX) or (
        len(text) == REF_LENGTH and all(c in REF_ALPHABET for c in text)
        and any(c.isdigit() for c in text))


def parse_outcome(tr: BoundTranslator, raw: str) -> str:
    """helped, referred, declined, no reply (also no_reply, no-reply), in English or the
    reader's language."""
    word = " ".join(raw.replace("_", " ").replace("-", " ").casefold().split())
    for key, label in OUTCOMES:
        if word in (key.replace("_", " "), label.casefold(), tr(label).casefold()):
            return key
    raise UserError(N_("“%(value)s” is not an outcome: use %(outcomes)s."), value=raw[:40],
                    outcomes=", ".join(tr(label) for _, label in OUTCOMES))


def parse_filter(tr: BoundTranslator, raw: str, locations: Mapping[str, object]) -> str:
    """What `!advice list` filters by: "mine", "open", "all", a state, a sector or a
    location key (in English or the reader's language)."""
    word = raw.strip().casefold()
    if word in ("", "open"):
        return "open"
    if word in ("mine", "all"):
        return word
    for key, label in STATE_NAMES.items():
        if word in (key, tr(label).casefold()):
            return f"state:{key}"
    for key, label in SECTOR_LABELS.items():
        if word in (key, label.casefold(), tr(label).casefold()):
            return f"sector:{key}"
    if word in locations:
        return f"location:{word}"
    raise UserError(N_("List which requests? Use open, mine, all, a state (%(states)s), a "
                       "sector or a location."),
                    states=", ".join(tr(label) for label in STATE_NAMES.values()))


@dataclass(frozen=True)
class Answered:
    request: AdvisoryRequest
    message: AdviceMessage
    by_mail: bool  # it goes out by e-mail too (else: the status page only)


class CaseService:
    def __init__(self, session: AsyncSession, deps: Deps, config: WorkflowConfig,
                 notices: Notices, pool: Callable[[AsyncSession], AdvisorPool],
                 mail_enabled: bool) -> None:
        self.session = session
        self.deps = deps
        self.config = config
        self.notices = notices
        self.pool = pool(session)
        self.mail_enabled = mail_enabled

    # -- finding --------------------------------------------------------------------------

    async def get(self, ref: str) -> AdvisoryRequest:
        wanted = normal_ref(ref)
        request = None if wanted is None else await self.session.scalar(
            select(AdvisoryRequest).where(AdvisoryRequest.ref == wanted))
        if request is None:
            raise UserError(NO_SUCH, ref=ref[:24])
        return request

    async def in_room(self, room_id: str) -> AdvisoryRequest | None:
        """The request whose case room this is."""
        return await self.session.scalar(
            select(AdvisoryRequest).where(AdvisoryRequest.case_room_id == room_id))

    async def by_notice(self, event_id: str) -> AdvisoryRequest | None:
        return await self.session.scalar(
            select(AdvisoryRequest).where(AdvisoryRequest.event_id == event_id))

    async def may_work(self, mxid: str, coordinator: Callable[[], object]) -> bool:
        """An advisor, or a coordinator (asked only when not an advisor)."""
        if await self.pool.is_advisor(mxid):
            return True
        return bool(await coordinator())  # type: ignore[misc]

    # -- the pool -------------------------------------------------------------------------

    async def enrol(self, mxid: str, tags: list[str]) -> tuple[Advisor, bool]:
        """Make `mxid` an advisor (or change their tags) and invite them to the advisory
        room; also says whether there is an advisory room they are invited to (or in)."""
        advisor = await self.pool.join(mxid, tags, self._now())
        room_id = await self.notices.advisory_room(self.session)
        if room_id is None:
            return advisor, False
        try:
            await self.deps.gateway.invite(room_id, mxid)
        except HomeserverUnavailable:
            raise
        except GatewayError as exc:  # in the room already, or invited before
            log.info("advisor not invited to the advisory room: %s", exc)
        return advisor, True

    async def retire(self, mxid: str) -> bool:
        """No longer an advisor (they stay in the rooms they are in)."""
        return await self.pool.leave(mxid)

    # -- changes --------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.deps.clock()

    async def claim(self, request: AdvisoryRequest, by: str) -> AdvisoryRequest:
        if request.status == "closed":
            raise UserError(N_("%(ref)s is closed. Reopen it first with %(usage)s."),
                            ref=request.ref, usage=f"!advice reopen {request.ref}")
        if request.assignee == by:
            raise UserError(N_("%(ref)s is yours already."), ref=request.ref)
        if request.assignee is not None:
            raise UserError(N_("%(ref)s is claimed by %(who)s already; they or a coordinator "
                               "can hand it on with %(usage)s."), ref=request.ref,
                            who=request.assignee, usage=f"!advice assign {request.ref} @member")
        # taken in one statement: a 👀 and a command at the same moment cannot both win
        taken = await self.session.execute(
            update(AdvisoryRequest).where(AdvisoryRequest.id == request.id,
                                          AdvisoryRequest.assignee.is_(None))
            .values(assignee=by).execution_options(synchronize_session=False))
        if not getattr(taken, "rowcount", 0):
            await self.session.refresh(request)
            raise UserError(N_("%(ref)s is claimed by %(who)s already; they or a coordinator "
                               "can hand it on with %(usage)s."), ref=request.ref,
                            who=request.assignee or "?",
                            usage=f"!advice assign {request.ref} @member")
        await self._take(request, by, by, "claimed")
        return request

    def may_change(self, request: AdvisoryRequest, by: str, coordinator: bool) -> None:
        """Who changes a claimed request: its advisor or a coordinator (an unclaimed one:
        any advisor, who then has it)."""
        if coordinator or request.assignee in (None, by):
            return
        raise UserError(N_("%(ref)s is with %(who)s: only they or a coordinator change it. "
                           "Add a note with %(usage)s."), ref=request.ref,
                        who=request.assignee, usage=f"!advice note {request.ref} <text>")

    async def assign(self, request: AdvisoryRequest, who: str, by: str, *,
                     coordinator: bool) -> AdvisoryRequest:
        if request.status == "closed":
            raise UserError(N_("%(ref)s is closed. Reopen it first with %(usage)s."),
                            ref=request.ref, usage=f"!advice reopen {request.ref}")
        if not coordinator and request.assignee not in (None, by):
            raise UserError(N_("Only %(who)s, who has %(ref)s, or a coordinator can hand it "
                               "on."), who=request.assignee, ref=request.ref)
        if not await self.pool.is_advisor(who):
            raise UserError(N_("%(who)s is not an advisor. They can offer to be one with "
                               "%(usage)s."), who=who, usage="!set advisor on")
        if request.assignee == who:
            raise UserError(N_("%(ref)s is with %(who)s already."), ref=request.ref, who=who)
        await self._take(request, who, by, "assigned")
        return request

    async def _take(self, request: AdvisoryRequest, who: str, by: str, action: str) -> None:
        now = self._now()
        request.assignee = who
        request.claimed_at = request.claimed_at or now
        if request.status == "new":
            request.status = "claimed"
        record(self.session, request, by, action, now, who if action == "assigned" else None)
        await self.session.flush()
        await self._open_case_room(request, (who, by))
        await self._refresh(request)

    async def _refresh(self, request: AdvisoryRequest) -> None:
        """Edit the notice; a refusal (the notice redacted, the bot out of the room) is
        logged and left to the follow-up job, and never undoes the change itself."""
        try:
            await self.notices.refresh(self.session, request)
        except HomeserverUnavailable:
            raise
        except GatewayError as exc:
            log.warning("the notice of %s was not edited: %s", request.ref, exc)

    async def _open_case_room(self, request: AdvisoryRequest, people: tuple[str, ...]) -> None:
        """The request's private room (one per request, found again by its alias): `people`
        invited first, then the request posted as its first message (in an encrypted
        room, encrypted for them too)."""
        deps = self.deps
        room_id = request.case_room_id
        new = room_id is None
        if room_id is None:
            room_id = await private_room(
                deps.gateway, deps.config.matrix.server_name, "advice", request.ref,
                name=f"{request.ref} · {request.organisation}"[:100], invite=(),
                encrypted=deps.config.matrix.encryption.encrypt_private_rooms)
            request.case_room_id = room_id
            await self.session.flush()
        for mxid in dict.fromkeys(people):
            try:
                await deps.gateway.invite(room_id, mxid)
            except HomeserverUnavailable:
                raise
            except GatewayError as exc:  # already there, or invited before
                log.info("not invited to the case room of %s: %s", request.ref, exc)
        if new:
            first = await self.session.get(Member, people[0])
            tr = deps.translator.bind(deps.locales(self.session).member(first))
            text, html = case_intro(tr, deps.config.network, deps.config.command_prefix,
                                    await self.notices.case(self.session, request, []))
            await deps.gateway.send(Outgoing(room_id, text, html, mentions=people[:1],
                                             txn_id=f"sbcc.advice.{request.ref}.case"))

    async def note(self, request: AdvisoryRequest, text: str, by: str) -> AdvisoryRequest:
        clean = clean_block(text)
        if not clean:
            raise UserError(N_("What is the note? For example: %(example)s"),
                            example=f"!advice note {request.ref} Called them, they need a "
                                    "budget plan first.")
        if len(clean) > NOTE_MAX:
            raise UserError(N_("A note may have at most %(max)d characters; this one has "
                               "%(length)d."), max=NOTE_MAX, length=len(clean))
        record(self.session, request, by, "note", self._now(), clean)
        await self.session.flush()
        await self._refresh(request)
        return request

    async def close(self, request: AdvisoryRequest, outcome: str, by: str) -> AdvisoryRequest:
        if request.status == "closed":
            raise UserError(N_("%(ref)s is closed already."), ref=request.ref)
        now = self._now()
        request.status, request.outcome, request.closed_at = "closed", outcome, now
        record(self.session, request, by, "closed", now, outcome)
        await self.session.flush()
        await self._refresh(request)
        return request

    async def reopen(self, request: AdvisoryRequest, by: str) -> AdvisoryRequest:
        if request.status not in ("closed", "answered"):
            raise UserError(N_("%(ref)s is open already."), ref=request.ref)
        request.status = "claimed" if request.assignee else "new"
        request.closed_at = request.outcome = None
        record(self.session, request, by, "reopened", self._now())
        await self.session.flush()
        await self._refresh(request)
        return request

    async def answer(self, request: AdvisoryRequest, text: str, by: str) -> Answered:
        """Record an answer to the requester: by e-mail when mail is set up and their
        address is still kept, on their status page always. An unclaimed request becomes
        the answerer's."""
        clean = clean_block(text)
        if not clean:
            raise UserError(N_("What is your answer? For example: %(example)s"),
                            example=f"!advice reply {request.ref} Dear …")
        if len(clean) > ANSWER_MAX:
            raise UserError(N_("An answer may have at most %(max)d characters; this one has "
                               "%(length)d."), max=ANSWER_MAX, length=len(clean))
        if request.status == "closed":
            raise UserError(N_("%(ref)s is closed. Reopen it first with %(usage)s."),
                            ref=request.ref, usage=f"!advice reopen {request.ref}")
        now = self._now()
        if request.assignee is None:
            await self._take(request, by, by, "claimed")
        by_mail = self.mail_enabled and request.email is not None
        message = AdviceMessage(request_id=request.id, direction="out", author=by, text=clean,
                                created_at=now, state="pending" if by_mail else "shown",
                                attempts=0)
        self.session.add(message)
        request.status = "answered"
        request.answered_at = request.answered_at or now
        record(self.session, request, by, "answered", now)
        await self.session.flush()
        await self._refresh(request)
        return Answered(request, message, by_mail)

    # -- reading --------------------------------------------------------------------------

    async def show(self, request: AdvisoryRequest) -> tuple[Case, list, list]:
        messages = list((await self.session.scalars(
            select(AdviceMessage).where(AdviceMessage.request_id == request.id)
            .order_by(AdviceMessage.id))).all())
        return (await self.notices.case(self.session, request),
                await history(self.session, request.id), messages)

    async def listing(self, what: str, reader: str) -> tuple[list[Case], int]:
        query = select(AdvisoryRequest)
        if what == "open":
            query = query.where(AdvisoryRequest.status.in_(OPEN))
        elif what == "mine":
            query = query.where(AdvisoryRequest.assignee == reader,
                                AdvisoryRequest.status.in_(OPEN))
        elif what.startswith("state:"):
            query = query.where(AdvisoryRequest.status == what.partition(":")[2])
        elif what.startswith("sector:"):
            query = query.where(AdvisoryRequest.sector == what.partition(":")[2],
                                AdvisoryRequest.status.in_(OPEN))
        elif what.startswith("location:"):
            query = query.where(AdvisoryRequest.location == what.partition(":")[2],
                                AdvisoryRequest.status.in_(OPEN))
        total = await self.session.scalar(
            select(func.count()).select_from(query.subquery())) or 0
        rows = (await self.session.scalars(
            query.order_by(AdvisoryRequest.created_at, AdvisoryRequest.id)
            .limit(LIST_LIMIT))).all()
        assignees = {m.mxid: m for m in (await self.session.scalars(select(Member).where(
            Member.mxid.in_([r.assignee for r in rows if r.assignee])))).all()}
        cases = [Case(r, assignees.get(r.assignee or "")) for r in rows]
        return cases, max(0, total - len(rows))
