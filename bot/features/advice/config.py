"""The advice form's part of the `web:` config section: `web.advice_rate` (accepted
requests per client address)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config_reader import ConfigSection
from bot.ratelimit import Rate, parse_rate
from rooms.topology import NetworkConfig


@dataclass(frozen=True)
class AdviceConfig:
    rate: Rate = Rate(5, 3600)


def parse_advice(sec: ConfigSection, _network: NetworkConfig) -> AdviceConfig:
    text = sec.string("advice_rate", "5/hour")
    rate = parse_rate(text)
    if rate is None:
        sec.fail("advice_rate", "must look like 5/hour")
        return AdviceConfig()
    return AdviceConfig(rate)
