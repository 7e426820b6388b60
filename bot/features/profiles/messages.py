"""How profiles read: a member's card (shown by `!profile`, and posted by introductions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.db.models import Member
from bot.features.profiles.service import Profile, language_names, stored_languages
from bot.formatting import escape, mention_link, text_to_html
from bot.i18n import N_

if TYPE_CHECKING:
    from bot.i18n import BoundTranslator
    from rooms.topology import NetworkConfig


def profile_card(member: Member, offers: Sequence[str], needs: Sequence[str],
                 tr: BoundTranslator, network: NetworkConfig, *,
                 own: bool = False, prefix: str = "!") -> tuple[str, str]:
    """The plain text and the HTML of a member's card, in `tr`'s language. Empty fields are
    left out; an empty profile gets a hint (how to fill it in when `own`)."""
    name = member.display_name or member.mxid
    head_text = f"{name} ({member.mxid})" if member.display_name else member.mxid
    lines: list[tuple[str, str]] = []  # (label, value) in plain text

    if member.organisation:
        lines.append((tr(N_("Organisation:")), member.organisation))
    if member.location:
        lines.append((tr(N_("Location:")), network.place(member.location, tr.locale)))
    if offers:
        lines.append((tr(N_("Offers:")), ", ".join(offers)))
    if needs:
        lines.append((tr(N_("Needs:")), ", ".join(needs)))
    spoken = stored_languages(member.languages)
    if spoken:
        lines.append((tr(N_("Languages:")), ", ".join(language_names(spoken, tr.locale))))
    if member.timezone:
        lines.append((tr(N_("Timezone:")), member.timezone))

    text = [head_text]
    html = [mention_link(member.mxid, name)]
    for label, value in lines:
        text.append(f"{label} {value}")
        html.append(f"<b>{escape(label)}</b> {escape(value)}")
    if member.bio:
        text.append(member.bio)
        html.append(f"<i>{text_to_html(member.bio)}</i>")
    if not lines and not member.bio:
        if own:
            hint = tr(N_("Your profile is empty. Tell the network about you, for example: "
                         "%(examples)s"),
                      examples=f"{prefix}set org …, {prefix}set location …, "
                               f"{prefix}offer …, {prefix}need …")
        else:
            hint = tr(N_("No profile details yet."))
        text.append(hint)
        html.append(f"<i>{escape(hint)}</i>")
    return "\n".join(text), "<br>".join(html)


def introduction_card(profile: Profile, tr: BoundTranslator, network: NetworkConfig,
                      prefix: str) -> tuple[str, str]:
    """The card a room gets when a member introduces themselves: a title, then the card."""
    text, html = profile_card(profile.member, profile.offers, profile.needs, tr, network,
                              prefix=prefix)
    title = tr(N_("👋 Introducing a member of the network"))
    return f"{title}\n{text}", f"<b>{escape(title)}</b><br>{html}"
