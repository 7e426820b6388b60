"""How advisory requests read: the sectors and request states by their labels (the form,
the status page, the digest), and the notice a new request makes in the advisory room."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.formatting import escape, fill, text_to_html
from bot.i18n import N_, BoundTranslator, language_name

if TYPE_CHECKING:
    from bot.db.models import AdvisoryRequest
    from rooms.topology import NetworkConfig

# (key, label): the key is stored, the label is translated where it is shown.
SECTORS: tuple[tuple[str, str], ...] = (
    ("design", N_("Design")),
    ("media", N_("Media")),
    ("games", N_("Games")),
    ("heritage", N_("Museums and heritage")),
    ("tourism", N_("Tourism")),
    ("crafts", N_("Crafts")),
    ("music", N_("Music")),
    ("business", N_("Business")),
    ("education", N_("Education")),
    ("public", N_("Public administration")),
    ("other", N_("Other")),
)
SECTOR_LABELS = dict(SECTORS)

# What a request's state means to its sender (the status page). The advisory workflow (its
# own issue) moves requests on; unknown states show as "new".
REQUEST_STATES = {
    "new": N_("Received — waiting for a coordinator"),
    "assigned": N_("A coordinator is looking into it"),
    "answered": N_("Answered by e-mail"),
    "closed": N_("Closed"),
}


# what stands for a requester's e-mail address once retention has erased it
EMAIL_ERASED = N_("erased (kept only for a while after the request was closed)")


def request_notice(request: AdvisoryRequest, network: NetworkConfig, tr: BoundTranslator
                   ) -> tuple[str, str]:
    """The advisory room's message in `tr`'s language: plain text and HTML (every value
    escaped, line breaks kept; "@room" in what the requester wrote notifies nobody, see
    `bot.events.Outgoing`). An erased e-mail address reads as such."""
    title_text, title_html = fill(
        tr(N_("New advisory request %(ref)s from outside the network")), ref=request.ref)
    rows = [
        (tr(N_("Organisation:")), request.organisation),
        (tr(N_("E-mail:")), request.email or tr(EMAIL_ERASED)),
        (tr(N_("Sector:")), tr(SECTOR_LABELS.get(request.sector, request.sector))),
        (tr(N_("Location:")), network.place(request.location) or tr(N_("not given"))),
        (tr(N_("Language:")), language_name(request.language, tr.locale)),
    ]
    question_label = tr(N_("Question:"))
    text = "\n".join([title_text, *(f"{label} {value}" for label, value in rows),
                      question_label, request.question])
    html = (f"<p><strong>{title_html}</strong></p><p>"
            + "<br>".join(f"{escape(label)} {escape(value)}" for label, value in rows)
            + f"</p><p>{escape(question_label)}</p>"
            + f"<blockquote>{text_to_html(request.question)}</blockquote>")
    return text, html
