"""The `privacy:` config section: how long what is only kept for a while is kept. One place
for the whole retention policy (a data protection officer reads it here and in the README);
each feature prunes its own records by it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config_reader import ConfigSection, Duration
from rooms.topology import NetworkConfig


@dataclass(frozen=True)
class PrivacyConfig:
    # ended stays in network rooms (joins, leaves, kicks, bans); current ones are kept
    memberships: Duration = Duration("365d", 365, "d")
    # shares (!share) are kept for the hourly limit and the digest's counts
    shares: Duration = Duration("90d", 90, "d")
    # the requester's e-mail address, counted from when the advisory request was closed
    advice_emails: Duration = Duration("180d", 180, "d")
    # handled event ids make a redelivered event harmless; a redelivery this late cannot be
    handled_events: Duration = Duration("7d", 7, "d")

    def retention(self) -> dict[str, Duration | None]:
        return {"memberships": self.memberships, "shares": self.shares,
                "advice_emails": self.advice_emails, "handled_events": self.handled_events}


def parse_privacy(sec: ConfigSection, _network: NetworkConfig) -> PrivacyConfig:
    d = PrivacyConfig()
    return PrivacyConfig(memberships=sec.duration("memberships", d.memberships),
                         shares=sec.duration("shares", d.shares),
                         advice_emails=sec.duration("advice_emails", d.advice_emails),
                         handled_events=sec.duration("handled_events", d.handled_events))
