"""Advice for the "normal economy": organisations outside the network ask through a web
form; members who opted in as advisors (`!set advisor on`) are suggested, claim a request
(👀 on its notice, or `!advice claim`), work on it in a private case room, answer the
requester by e-mail and on their status page, and close it with an outcome. Nothing falls
through: unclaimed requests are raised again, quiet assignees reminded, answered requests
closed after a while — each once, from a database row.

- `service.py`: the intake (the form's validation, references, status secrets);
- `advisors.py`: the pool and the suggestions; `workflow.py`: a request's life;
- `notices.py`: the notice in the advisory room, edited in place; `listeners.py`: 👀;
- `outbox.py`: answers by e-mail (`mail.py`) and requesters' replies into the case room;
- `followups.py`: the job that lets nothing fall through; `requester.py`: the status page's
  side (replies, ratings); `stats.py`: the figures (`!advice stats`, `/metrics`, digest);
- `views.py` and `messages.py`: how it all reads; `web.py`: the form and status pages;
- `commands/advice.py`: `!advice …`, `!advisors`; `commands/profile.py`: `!set advisor`.
A requester's e-mail address is erased `advice.retention` after the request was closed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SectionSpec
from bot.db.models import AdviceEntry, AdviceMessage, Advisor, AdvisoryRequest
from bot.feature import Feature, PersonalData, Wiring
from bot.features.advice import web
from bot.features.advice.advisors import AdvisorPool
from bot.features.advice.config import AdviceConfig, WorkflowConfig, parse_advice, parse_workflow
from bot.features.advice.followups import FollowUps
from bot.features.advice.listeners import ClaimReactions
from bot.features.advice.mail import MailConfig, Mailer, parse_mail
from bot.features.advice.notices import Notices
from bot.features.advice.outbox import Outbox
from bot.features.advice.service import AdviceService, erase_emails
from bot.features.advice.stats import refresh_gauges
from bot.features.advice.workflow import CaseService
from bot.features.profiles.config import TagsConfig
from bot.i18n import N_


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    config = deps.config.section(WorkflowConfig)
    mail = deps.config.section(MailConfig)
    canonical = deps.config.section(TagsConfig).canonical
    network = deps.config.network

    def pool(session: AsyncSession) -> AdvisorPool:
        return AdvisorPool(session, network, canonical)

    notices = Notices(deps, config, pool)
    outbox = Outbox(deps, notices, Mailer(mail) if mail.enabled else None)
    followups = FollowUps(deps, config, notices)

    def service(session: AsyncSession) -> AdviceService:
        return AdviceService(session, deps, notices)

    def cases(session: AsyncSession) -> CaseService:
        return CaseService(session, deps, config, notices, pool, mail.enabled)

    async def erase_closed_emails() -> None:
        async with deps.db.session() as session:
            await erase_emails(session, deps.clock(), config.retention.delta)

    wiring.service("advice", service)
    wiring.service("cases", cases)
    wiring.service("advisors", pool)
    wiring.service("outbox", lambda _session: outbox)
    wiring.listen(ClaimReactions(deps, cases).on_event)
    wiring.routes(web.routes(deps.config.section(AdviceConfig), service, outbox.deliver),
                  templates=__name__)
    wiring.on_start(followups.run)
    wiring.on_start(outbox.flush)
    soon = deps.clock() + timedelta(minutes=1)
    wiring.job(followups.run, "interval", id="advice-follow-ups", minutes=5,
               next_run_time=soon, coalesce=True, max_instances=1)
    wiring.job(outbox.flush, "interval", id="advice-outbox", minutes=1,
               next_run_time=soon, coalesce=True, max_instances=1)
    wiring.job(erase_closed_emails, "interval", id="advice-erase-emails", hours=1,
               next_run_time=deps.clock() + timedelta(minutes=3), coalesce=True)

    async def gauges() -> None:
        async with deps.db.session() as session:
            await refresh_gauges(session, deps.metrics)

    wiring.on_scrape(gauges)

    async def export(session: AsyncSession, mxid: str) -> dict[str, Any]:
        advisor = await session.get(Advisor, mxid)
        requests = (await session.scalars(select(AdvisoryRequest.ref).where(
            AdvisoryRequest.assignee == mxid).order_by(AdvisoryRequest.id))).all()
        entries = (await session.execute(
            select(AdvisoryRequest.ref, AdviceEntry.at, AdviceEntry.action, AdviceEntry.detail)
            .join(AdvisoryRequest, AdvisoryRequest.id == AdviceEntry.request_id)
            .where(AdviceEntry.actor == mxid).order_by(AdviceEntry.id))).all()
        answers = (await session.execute(
            select(AdvisoryRequest.ref, AdviceMessage.created_at, AdviceMessage.text)
            .join(AdvisoryRequest, AdvisoryRequest.id == AdviceMessage.request_id)
            .where(AdviceMessage.author == mxid).order_by(AdviceMessage.id))).all()
        return {
            "advisor": None if advisor is None else {
                "tags": [t for t in advisor.tags.split(",") if t],
                "since": advisor.since.isoformat()},
            "assigned_requests": list(requests),
            "history": [{"request": ref, "at": at.isoformat(), "action": action,
                         "detail": detail} for ref, at, action, detail in entries],
            "answers": [{"request": ref, "at": at.isoformat(), "text": text}
                        for ref, at, text in answers],
        }

    async def erase(session: AsyncSession, mxid: str, alias: str) -> int:
        """The advisor record goes; in requests (which the network keeps for the
        requester) they become a former member."""
        touched = 0
        for statement in (
                delete(Advisor).where(Advisor.mxid == mxid),
                update(AdvisoryRequest).where(AdvisoryRequest.assignee == mxid)
                .values(assignee=alias),
                update(AdviceEntry).where(AdviceEntry.actor == mxid).values(actor=alias),
                update(AdviceEntry).where(AdviceEntry.detail == mxid).values(detail=alias),
                update(AdviceMessage).where(AdviceMessage.author == mxid)
                .values(author=alias)):
            result = await session.execute(statement)
            touched += getattr(result, "rowcount", 0) or 0
        return touched

    wiring.holds(PersonalData(
        "advice", N_("whether you advise organisations outside the network and on what, the "
                     "advisory requests you took on, your steps in them and your answers"),
        export, erase))


FEATURE = Feature("advice", setup, config=(SectionSpec("web", parse_advice),
                                           SectionSpec("advice", parse_workflow),
                                           SectionSpec("mail", parse_mail)))
