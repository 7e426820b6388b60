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
    # handled event ids make a redelivered event harmless; a redelivery this late cannot be
    handled_events: Duration = Duration("7d", 7, "d")

    def retention(self) -> dict[str, Duration | None]:
        """What is kept for a while (the advisory requesters' e-mail addresses are the advice
        feature's: `advice.retention`)."""
        return {"memberships": self.memberships, "shares": self.shares,
                "handled_events": self.handled_events}


def parse_privacy(sec: ConfigSection, _network: NetworkConfig) -> PrivacyConfig:
    d = PrivacyConfig()
    if sec.get("advice_emails") is not None:
        sec.fail("advice_emails", "has moved to advice.retention")
    return PrivacyConfig(memberships=sec.duration("memberships", d.memberships),
                         shares=sec.duration("shares", d.shares),
                         handled_events=sec.duration("handled_events", d.handled_events))
