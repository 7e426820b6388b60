"""The advice form's part of the `web:` config section: `web.advice_rate` (accepted
requests per client address; IPv6 clients by their /64) and `web.advice_rate_total`
(accepted requests from everyone together, so that many addresses cannot flood the
advisory room either)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config_reader import ConfigSection
from bot.ratelimit import Rate, parse_rate
from rooms.topology import NetworkConfig


@dataclass(frozen=True)
class AdviceConfig:
    rate: Rate = Rate(5, 3600)
    rate_total: Rate = Rate(60, 3600)


def _rate(sec: ConfigSection, key: str, default: Rate, example: str) -> Rate:
    rate = parse_rate(sec.string(key, example))
    if rate is None:
        sec.fail(key, f"must look like {example}")
        return default
    return rate


def parse_advice(sec: ConfigSection, _network: NetworkConfig) -> AdviceConfig:
    d = AdviceConfig()
    return AdviceConfig(rate=_rate(sec, "advice_rate", d.rate, "5/hour"),
                        rate_total=_rate(sec, "advice_rate_total", d.rate_total, "60/hour"))
