"""Advisory requests: questions from organisations outside the network, sent through the
web form (`bot.features.advice.web`), stored, and posted into the invite-only advisory room.

Whoever sends one gets a reference ("ADV-7KQ2MX") and a private secret for the status
link; only the secret's SHA-256 is stored, so the database alone cannot open the link.
`validate` checks every field at once and reports a translatable message per field, so a
form can show each one next to its input. Storing and posting are two steps: the web side
commits the request first, then posts it, so a homeserver hiccup never loses a request
(`event_id` stays empty and the advisory workflow can post it again).

Retention: a request's `closed_at` is set when it is closed (`close`); `erase_emails` (a
job of the feature) erases the requester's e-mail address `advice.retention` after
that, and keeps the rest of the request for the digest's counts.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AdvisoryRequest
from bot.errors import UserError
from bot.features.advice.history import BOT, REQUESTER, record
from bot.features.advice.messages import SECTOR_LABELS
from bot.i18n import N_, SUPPORTED_LANGUAGES
from bot.text import clean_block, clean_line

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.features.advice.notices import Notices
    from rooms.topology import NetworkConfig

log = logging.getLogger(__name__)

REF_PREFIX = "ADV-"
REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, no 1/I: read aloud, typed by hand
REF_LENGTH = 6
REF_ATTEMPTS = 10
SECRET_BYTES = 24

ORGANISATION_MIN, ORGANISATION_MAX = 2, 200
EMAIL_MAX = 254
QUESTION_MIN, QUESTION_MAX = 10, 4000
REF_RE = re.compile(rf"{REF_PREFIX}[{REF_ALPHABET}]{{{REF_LENGTH}}}")
EMAIL_RE = re.compile(r"^[^@\s<>()\[\]\\,;:\"]+@[^@\s<>()\[\]\\,;:\"]+\.[^@\s<>()\[\]\\,;:\".]+$")

FIELDS = ("organisation", "email", "sector", "location", "question", "consent")


class InvalidRequest(Exception):  # noqa: N818 - named for what it is, like UserError
    """Some fields are wrong: `errors` maps a field name to a translatable message."""

    def __init__(self, errors: dict[str, UserError]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class CleanRequest:
    organisation: str
    email: str
    sector: str
    location: str | None
    question: str


def new_ref() -> str:
    return REF_PREFIX + "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def validate(network: NetworkConfig, *, organisation: str, email: str, sector: str,
             location: str | None, question: str, consent: bool) -> CleanRequest:
    """The cleaned request, or `InvalidRequest` naming every field that is wrong."""
    errors: dict[str, UserError] = {}
    org = clean_line(organisation or "")
    if not org:
        errors["organisation"] = UserError(N_("Please give the name of your organisation."))
    elif not ORGANISATION_MIN <= len(org) <= ORGANISATION_MAX:
        errors["organisation"] = UserError(
            N_("The name of your organisation needs between %(min)d and %(max)d characters."),
            min=ORGANISATION_MIN, max=ORGANISATION_MAX)
    mail = (email or "").strip()
    if not mail:
        errors["email"] = UserError(N_("Please give an e-mail address where we can answer "
                                       "you."))
    elif len(mail) > EMAIL_MAX:
        errors["email"] = UserError(N_("An e-mail address has at most %(max)d characters."),
                                    max=EMAIL_MAX)
    elif not EMAIL_RE.match(mail) or not mail.isprintable():  # no control, bidi, NUL
        errors["email"] = UserError(N_("This does not look like an e-mail address, for "
                                       "example name@example.org."))
    sector = (sector or "").strip()
    if sector not in SECTOR_LABELS:
        errors["sector"] = UserError(N_("Please choose the sector that fits your organisation "
                                        "best (or “Other”)."))
    place = (location or "").strip() or None
    if place is not None and place not in network.location_by_key:
        errors["location"] = UserError(N_("Please choose one of the listed locations, or "
                                          "none."))
    text = clean_block(question or "")
    if not text:
        errors["question"] = UserError(N_("Please write your question."))
    elif not QUESTION_MIN <= len(text) <= QUESTION_MAX:
        errors["question"] = UserError(
            N_("Your question has %(length)d characters; please write between %(min)d and "
               "%(max)d."), length=len(text), min=QUESTION_MIN, max=QUESTION_MAX)
    if not consent:
        errors["consent"] = UserError(N_("Please agree that we store your request and pass it "
                                         "on to our coordinators."))
    if errors:
        raise InvalidRequest(errors)
    return CleanRequest(org, mail, sector, place, text)


class AdviceService:
    def __init__(self, session: AsyncSession, deps: Deps, notices: Notices | None = None
                 ) -> None:
        self.session = session
        self.deps = deps
        self.notices = notices

    async def create(self, organisation: str, email: str, sector: str, location: str | None,
                     question: str, language: str, *, consent: bool
                     ) -> tuple[AdvisoryRequest, str]:
        """Store a new request (flushed, not posted). Returns it and the status secret,
        which exists nowhere else: show it to the sender once. Raises `InvalidRequest`."""
        clean = validate(self.deps.config.network, organisation=organisation, email=email,
                         sector=sector, location=location, question=question, consent=consent)
        ref = await self._unused_ref()
        secret = secrets.token_urlsafe(SECRET_BYTES)
        request = AdvisoryRequest(
            ref=ref, secret_hash=hash_secret(secret), organisation=clean.organisation,
            email=clean.email, sector=clean.sector, location=clean.location,
            question=clean.question,
            language=language if language in SUPPORTED_LANGUAGES
            else self.deps.config.default_language,
            status="new", created_at=self.deps.clock(), activity_at=self.deps.clock(),
            notice_version=0, notice_shown=0)
        self.session.add(request)
        await self.session.flush()
        record(self.session, request, REQUESTER, "created", self.deps.clock(), activity=False)
        return request, secret

    async def _unused_ref(self) -> str:
        for _ in range(REF_ATTEMPTS):
            ref = new_ref()
            taken = await self.session.scalar(
                select(AdvisoryRequest.id).where(AdvisoryRequest.ref == ref))
            if taken is None:
                return ref
        raise RuntimeError(f"no unused advisory reference after {REF_ATTEMPTS} attempts")

    async def get(self, ref: str) -> AdvisoryRequest | None:
        ref = ref.strip().upper()
        if not REF_RE.fullmatch(ref):  # nothing else is asked of the database (a NUL, …)
            return None
        return await self.session.scalar(
            select(AdvisoryRequest).where(AdvisoryRequest.ref == ref))

    async def find(self, ref: str, secret: str) -> AdvisoryRequest | None:
        """The request, if `secret` opens it; None alike for an unknown ref or wrong secret."""
        if len(ref) > 16 or not secret or len(secret) > 128 or not secret.isascii():
            return None
        request = await self.get(ref)
        wanted = hash_secret(secret)
        stored = request.secret_hash if request is not None else hash_secret("")
        if hmac.compare_digest(stored, wanted) and request is not None:
            return request
        return None

    async def close(self, ref: str) -> AdvisoryRequest:
        """Close the request (now): from then on its e-mail address is kept only as long as
        `advice.retention` says. (The advisory workflow closes with an outcome:
        `CaseService.close`.)"""
        request = await self.get(ref)
        if request is None:
            raise LookupError(ref)
        if request.status != "closed" or request.closed_at is None:
            request.status, request.closed_at = "closed", self.deps.clock()
            await self.session.flush()
        return request

    async def post(self, ref: str) -> str | None:
        """Post the request into the advisory room (once) and record where it went. None,
        with a warning logged, when there is no advisory room."""
        request = await self.get(ref)
        if request is None:
            raise LookupError(ref)
        if self.notices is None:
            return None
        posted = request.event_id is None
        event_id = await self.notices.post(self.session, request)
        if posted and event_id is not None:
            record(self.session, request, BOT, "posted", self.deps.clock(), activity=False)
        return event_id


async def erase_emails(session: AsyncSession, now: datetime, keep: timedelta) -> int:
    """Erase the e-mail address of every request closed more than `keep` ago (one
    statement); the rest of each request stays. Returns how many were erased."""
    result = await session.execute(
        update(AdvisoryRequest)
        .where(AdvisoryRequest.closed_at < now - keep, AdvisoryRequest.email.is_not(None))
        .values(email=None))
    return getattr(result, "rowcount", 0) or 0
