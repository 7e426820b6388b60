"""The `strategies:` config section:

    strategies:
      sections: [culture, economy, education, tourism]   # a new process's default sections
      remind_before: 1d     # members who have not voted are reminded this long before the end
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config_reader import ConfigSection, Duration
from rooms.topology import NetworkConfig

SECTION_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
DEFAULT_SECTIONS = ("culture", "economy", "education", "tourism")


@dataclass(frozen=True)
class StrategiesConfig:
    sections: tuple[str, ...] = DEFAULT_SECTIONS
    remind_before: Duration = Duration("1d", 1, "d")


def parse_strategies(sec: ConfigSection, _network: NetworkConfig) -> StrategiesConfig:
    d = StrategiesConfig()
    sections = tuple(s.lower() for s in sec.strings("sections")) or d.sections
    bad = [s for s in sections if not SECTION_RE.match(s)]
    if bad:
        sec.fail("sections", "each must be a short key of letters, digits and -, like "
                             f"culture (not {bad[0]!r})")
        sections = d.sections
    if len(sections) > 12:
        sec.fail("sections", "at most 12")
        sections = d.sections
    return StrategiesConfig(sections=sections,
                            remind_before=sec.duration("remind_before", d.remind_before))
