"""How the advisory workflow reads in Matrix and in e-mail: the request's notice in the
advisory room (edited in place as the request moves), `!advice show` and `!advice list`,
the case room's first message, the follow-ups, and the answer e-mail. Every value from a
requester or a member is escaped in HTML; "@room" in it notifies nobody (`Outgoing`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.dates import format_skeleton, format_timedelta

from bot.dates import date_locale
from bot.db.models import AdviceEntry, AdviceMessage, AdvisoryRequest, Member
from bot.features.advice.advisors import AdvisorFit, PoolEntry
from bot.features.advice.messages import SECTOR_LABELS, STATE_NAMES
from bot.features.advice.stats import OUTCOMES
from bot.features.matchmaking.connections import room_link
from bot.formatting import Rich, escape, fill, pill, text_to_html
from bot.i18n import N_, BoundTranslator, language_name
from rooms.topology import NetworkConfig

OUTCOME_NAMES = dict(OUTCOMES)
CLAIM_KEY = "👀"
EXCERPT = 280  # characters of a question shown in lists and follow-ups


@dataclass(frozen=True)
class Case:
    """A request with the people around it, as the views show it."""

    request: AdvisoryRequest
    assignee: Member | None
    fits: Sequence[AdvisorFit] = ()


def _who(mxid: str | None, member: Member | None) -> Rich:
    if mxid is None:
        return Rich("—", "—")
    return pill(mxid, member.display_name if member else None)


def state_name(tr: BoundTranslator, request: AdvisoryRequest) -> str:
    name = tr(STATE_NAMES.get(request.status, STATE_NAMES["new"]))
    if request.status == "closed" and request.outcome:
        return f"{name} ({tr(OUTCOME_NAMES.get(request.outcome, request.outcome))})"
    return name


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1].rstrip() + "…"


def fit_reason(tr: BoundTranslator, network: NetworkConfig, request: AdvisoryRequest,
               fit: AdvisorFit) -> str:
    """Why an advisor is suggested, like `!match` explains: "video, funding; the sector;
    reads Polish; Rostock (DE), another country"."""
    parts = []
    if fit.tags:
        parts.append(", ".join(fit.tags))
    if fit.sector:
        parts.append(tr(N_("the sector")))
    if fit.speaks:
        parts.append(tr(N_("reads %(language)s"),
                        language=language_name(request.language, tr.locale)))
    else:
        parts.append(tr(N_("does not list %(language)s"),
                        language=language_name(request.language, tr.locale)))
    if fit.location:
        place = network.place(fit.location) or fit.location
        parts.append(tr(N_("%(place)s, another country"), place=place) if fit.cross_border
                     else place)
    return "; ".join(parts)


def _lines(pairs: Sequence[tuple[str, str | Rich]]) -> tuple[list[str], list[str]]:
    texts, htmls = [], []
    for label, value in pairs:
        if isinstance(value, Rich):
            texts.append(f"{label} {value.text}")
            htmls.append(f"{escape(label)} {value.html}")
        else:
            texts.append(f"{label} {value}")
            htmls.append(f"{escape(label)} {escape(value)}")
    return texts, htmls


def notice(tr: BoundTranslator, network: NetworkConfig, prefix: str, case: Case
           ) -> tuple[str, str]:
    """The request's one message in the advisory room."""
    request = case.request
    title_text, title_html = fill(
        tr(N_("Advisory request %(ref)s from outside the network")), ref=request.ref)
    state = state_name(tr, request)
    pairs: list[tuple[str, str | Rich]] = [(tr(N_("State:")), state)]
    if request.assignee:
        pairs.append((tr(N_("Advisor:")), _who(request.assignee, case.assignee)))
    pairs += [
        (tr(N_("Organisation:")), request.organisation),
        (tr(N_("Sector:")), tr(SECTOR_LABELS.get(request.sector, request.sector))),
        (tr(N_("Location:")), network.place(request.location) or tr(N_("not given"))),
        (tr(N_("Language:")), language_name(request.language, tr.locale)),
    ]
    if request.case_room_id:
        pairs.append((tr(N_("Case room:")), room_link(request.case_room_id)))
    texts, htmls = _lines(pairs)
    question_label = tr(N_("Question:"))
    text = [f"{title_text}", *texts, question_label, request.question]
    html = [f"<p><strong>{title_html}</strong></p><p>" + "<br>".join(htmls) + "</p>",
            f"<p>{escape(question_label)}</p><blockquote>{text_to_html(request.question)}"
            "</blockquote>"]
    if request.status == "new":
        if case.fits:
            label = tr(N_("Suggested advisors:"))
            text.append(label)
            items = []
            for fit in case.fits:
                who = pill(fit.mxid, fit.display_name)
                reason = fit_reason(tr, network, request, fit)
                text.append(f"• {who.text} — {reason}")
                items.append(f"<li>{who.html} — {escape(reason)}</li>")
            html.append(f"<p>{escape(label)}</p><ul>{''.join(items)}</ul>")
        else:
            none = tr(N_("No advisor's tags fit this request yet."))
            text.append(none)
            html.append(f"<p>{escape(none)}</p>")
        hint = tr(N_("React with %(key)s to claim it, or write %(claim)s."), key=CLAIM_KEY,
                  claim=f"{prefix}advice claim {request.ref}")
    else:
        hint = tr(N_("Details and history: %(show)s"), show=f"{prefix}advice show {request.ref}")
    text.append(hint)
    html.append(f"<p><em>{escape(hint)}</em></p>")
    return "\n".join(text), "".join(html)


def _when(tr: BoundTranslator, when: datetime | None) -> str:
    if when is None:
        return "—"
    return format_skeleton("yMMMd", when, locale=date_locale(tr.locale))


def duration(tr: BoundTranslator, seconds: float) -> str:
    """"3 days", "5 hours" (the stats' finer figures are `stats.duration`)."""
    return format_timedelta(timedelta(seconds=seconds), threshold=1.1,
                            locale=date_locale(tr.locale))


ACTION_NAMES = {
    "created": N_("sent by the requester"),
    "posted": N_("posted in the advisory room"),
    "claimed": N_("claimed"),
    "assigned": N_("assigned to %(detail)s"),
    "note": N_("note: %(detail)s"),
    "answered": N_("answered"),
    "replied": N_("the requester replied"),
    "rated": N_("rated %(detail)s of 5"),
    "closed": N_("closed: %(detail)s"),
    "reopened": N_("reopened"),
    "nudged": N_("raised again, unclaimed"),
    "reminded": N_("assignee reminded"),
}
WHO_NAMES = {"requester": N_("the requester"), "bot": N_("the bot")}


def _entry(tr: BoundTranslator, entry: AdviceEntry) -> str:
    detail = entry.detail or ""
    if entry.action == "closed":
        detail = tr(OUTCOME_NAMES.get(detail, detail)) if detail else ""
    what = tr(ACTION_NAMES.get(entry.action, entry.action), detail=detail)
    who = tr(WHO_NAMES[entry.actor]) if entry.actor in WHO_NAMES else entry.actor
    return f"{_when(tr, entry.at)} · {who}: {what}"


def card(tr: BoundTranslator, network: NetworkConfig, prefix: str, case: Case,
         entries: Sequence[AdviceEntry], messages: Sequence[AdviceMessage],
         now: datetime) -> tuple[str, str]:
    """`!advice show`: the notice's facts, the times, the rating, and the history."""
    request = case.request
    text, html = notice(tr, network, prefix, case)
    extra: list[tuple[str, str | Rich]] = [
        (tr(N_("Received:")), _when(tr, request.created_at))]
    if request.claimed_at:
        extra.append((tr(N_("Claimed after:")),
                      duration(tr, (request.claimed_at - request.created_at).total_seconds())))
    if request.answered_at:
        extra.append((tr(N_("Answered after:")),
                      duration(tr, (request.answered_at - request.created_at).total_seconds())))
    if request.rating:
        rating = tr(N_("%(stars)d of 5"), stars=request.rating)
        if request.rating_comment:
            rating += f" — “{request.rating_comment}”"
        extra.append((tr(N_("Rating:")), rating))
    answers = sum(1 for m in messages if m.direction == "out")
    replies = len(messages) - answers
    extra.append((tr(N_("Messages:")),
                  tr(N_("answers: %(answers)d, replies from the requester: %(replies)d"),
                     answers=answers, replies=replies)))
    if request.email is None:
        extra.append((tr(N_("E-mail:")), tr(N_("erased (kept only for a while after the "
                                              "request was closed)"))))
    texts, htmls = _lines(extra)
    history_label = tr(N_("History:"))
    lines = [_entry(tr, e) for e in entries[-15:]]
    text += "\n" + "\n".join(texts) + "\n" + history_label + "\n" + "\n".join(lines)
    html += ("<p>" + "<br>".join(htmls) + f"</p><p>{escape(history_label)}</p><ul>"
             + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>")
    return text, html


def listing(tr: BoundTranslator, network: NetworkConfig, prefix: str,
            cases: Sequence[Case], more: int, now: datetime) -> tuple[str, str]:
    if not cases:
        none = tr(N_("No advisory requests here."))
        return none, escape(none)
    head = tr.ngettext("%(num)d advisory request:", "%(num)d advisory requests:",
                       len(cases) + more)
    texts, items = [head], []
    for case in cases:
        r = case.request
        age = format_timedelta(r.created_at - now, add_direction=True,
                               locale=date_locale(tr.locale))
        place = network.place(r.location) or "—"
        who = _who(r.assignee, case.assignee) if r.assignee else None
        line = (f"{r.ref} · {state_name(tr, r)} · {r.organisation} · "
                f"{tr(SECTOR_LABELS.get(r.sector, r.sector))} · {place} · {age}")
        texts.append(f"• {line}" + (f" · {who.text}" if who else ""))
        items.append(f"<li>{escape(line)}" + (f" · {who.html}" if who else "") + "</li>")
    if more:
        tail = tr.ngettext("… and %(num)d more.", "… and %(num)d more.", more)
        texts.append(tail)
        items.append(f"<li>{escape(tail)}</li>")
    hint = tr(N_("One in full: %(show)s"), show=f"{prefix}advice show <ref>")
    texts.append(hint)
    return "\n".join(texts), (f"<p>{escape(head)}</p><ul>{''.join(items)}</ul>"
                              f"<p><em>{escape(hint)}</em></p>")


def pool(tr: BoundTranslator, network: NetworkConfig, entries: Sequence[PoolEntry]
         ) -> tuple[str, str]:
    if not entries:
        none = tr(N_("No advisors yet. Members opt in with %(usage)s."),
                  usage="!set advisor on")
        return none, escape(none)
    head = tr.ngettext("%(num)d advisor:", "%(num)d advisors:", len(entries))
    texts, items = [head], []
    for e in entries:
        who = pill(e.member.mxid, e.member.display_name)
        place = network.place(e.member.location) or "—"
        tags = ", ".join(e.tags) or "—"
        if not e.own_tags and e.tags:
            tags = tr(N_("%(tags)s (their offers)"), tags=tags)
        langs = e.member.languages or e.member.language or "—"
        texts.append(f"• {who.text} · {place} · {tags} · {langs}")
        items.append(f"<li>{who.html} · {escape(place)} · {escape(tags)} · "
                     f"{escape(langs)}</li>")
    return "\n".join(texts), f"<p>{escape(head)}</p><ul>{''.join(items)}</ul>"


def case_intro(tr: BoundTranslator, network: NetworkConfig, prefix: str, case: Case
               ) -> tuple[str, str]:
    """The case room's first message: the request, and how to work on it from here."""
    text, html = notice(tr, network, prefix, case)
    hint = tr(N_("Work on it from this room (the reference can be left out here): "
                 "%(reply)s answers the requester by e-mail and on their status page; "
                 "%(note)s, %(assign)s, %(close)s, %(reopen)s."),
              reply=f"{prefix}advice reply <text>", note=f"{prefix}advice note <text>",
              assign=f"{prefix}advice assign @member",
              close=f"{prefix}advice close helped|referred|declined|no_reply",
              reopen=f"{prefix}advice reopen")
    return f"{text}\n\n{hint}", f"{html}<p>{escape(hint)}</p>"


def nudge(tr: BoundTranslator, prefix: str, request: AdvisoryRequest, waited: float,
          fits: Sequence[AdvisorFit]) -> tuple[str, str, tuple[str, ...]]:
    """An unclaimed request raised again; the suggested advisors are mentioned."""
    text, html = fill(tr(N_("⏳ %(ref)s from %(organisation)s has waited %(waited)s for an "
                            "advisor. React with %(key)s on it or write %(claim)s.")),
                      ref=request.ref, organisation=request.organisation,
                      waited=duration(tr, waited), key=CLAIM_KEY,
                      claim=f"{prefix}advice claim {request.ref}")
    mentions = tuple(f.mxid for f in fits)
    if fits:
        who = [pill(f.mxid, f.display_name) for f in fits]
        label = tr(N_("Perhaps for:"))
        text += f"\n{label} " + ", ".join(w.text for w in who)
        html += f"<br>{escape(label)} " + ", ".join(w.html for w in who)
    return text, html, mentions


def reminder(tr: BoundTranslator, prefix: str, request: AdvisoryRequest, idle: float
             ) -> tuple[str, str]:
    return fill(tr(N_("⏰ %(ref)s (%(organisation)s) is yours and nothing has happened for "
                      "%(idle)s. Answer the requester with %(reply)s, hand it on with "
                      "%(assign)s, or close it with %(close)s.")),
                ref=request.ref, organisation=request.organisation,
                idle=duration(tr, idle), reply=f"{prefix}advice reply {request.ref} <text>",
                assign=f"{prefix}advice assign {request.ref} @member",
                close=f"{prefix}advice close {request.ref} <outcome>")


def closed_by_itself(tr: BoundTranslator, prefix: str, request: AdvisoryRequest, after: float
                     ) -> tuple[str, str]:
    return fill(tr(N_("✔ %(ref)s was answered %(after)s ago and nobody reopened it: it is "
                      "closed as helped. %(reopen)s opens it again.")),
                ref=request.ref, after=duration(tr, after),
                reopen=f"{prefix}advice reopen {request.ref}")


def requester_reply(tr: BoundTranslator, request: AdvisoryRequest, text: str
                    ) -> tuple[str, str]:
    head_text, head_html = fill(tr(N_("✉ The requester of %(ref)s (%(organisation)s) "
                                      "replied:")),
                                ref=request.ref, organisation=request.organisation)
    return (f"{head_text}\n{text}",
            f"<p>{head_html}</p><blockquote>{text_to_html(text)}</blockquote>")


def mail_failed(tr: BoundTranslator, request: AdvisoryRequest) -> tuple[str, str]:
    return fill(tr(N_("⚠ The answer to %(ref)s could not be delivered by e-mail; it is on "
                      "the requester's status page.")), ref=request.ref)


def answer_email(tr: BoundTranslator, network_name: str, request: AdvisoryRequest,
                 text: str, advisor: Member | None, place: str | None) -> tuple[str, str]:
    """Subject and plain-text body of an answer, in the requester's language."""
    subject = tr(N_("Your advisory request %(ref)s: an answer from %(network)s"),
                 ref=request.ref, network=network_name)
    name = (advisor.display_name if advisor and advisor.display_name
            else tr(N_("an advisor of the network")))
    signed = f"{name}, {place}" if place else name
    body = "\n\n".join([
        tr(N_("Hello,")),
        tr(N_("you asked %(network)s for advice (%(ref)s). Here is an answer from "
              "%(advisor)s:"), network=network_name, ref=request.ref, advisor=signed),
        text,
        tr(N_("To reply or to tell us whether this helped, open the private status link you "
              "received when you sent your request. Replies to this e-mail are not read.")),
        f"— {network_name}",
    ])
    return subject, body
