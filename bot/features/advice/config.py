"""The advice feature's config: the form's part of the `web:` section (`web.advice_rate`:
accepted requests per client address, IPv6 clients by their /64; `web.advice_rate_total`:
accepted requests from everyone together, so that many addresses cannot flood the
advisory room either) and the workflow's own `advice:` section — when nothing may fall
through, and how long a requester's e-mail address is kept:

    advice:
      nudge_unclaimed: 3d   # an unclaimed request is raised again in the advisory room
      remind_assignee: 5d   # a claimed request without activity: its assignee is reminded
      auto_close: 14d       # an answered request closes by itself (unless reopened)
      retention: 180d       # the requester's e-mail address, after the request is closed
      suggest: 3            # advisors suggested per request (0: none)
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config_reader import ConfigSection, Duration
from bot.ratelimit import Rate, parse_rate
from rooms.topology import NetworkConfig


@dataclass(frozen=True)
class AdviceConfig:
    rate: Rate = Rate(5, 3600)
    rate_total: Rate = Rate(60, 3600)


@dataclass(frozen=True)
class WorkflowConfig:
    nudge_unclaimed: Duration = Duration("3d", 3, "d")
    remind_assignee: Duration = Duration("5d", 5, "d")
    auto_close: Duration = Duration("14d", 14, "d")
    retention: Duration = Duration("180d", 180, "d")
    suggest: int = 3


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


def parse_workflow(sec: ConfigSection, _network: NetworkConfig) -> WorkflowConfig:
    d = WorkflowConfig()
    return WorkflowConfig(
        nudge_unclaimed=sec.duration("nudge_unclaimed", d.nudge_unclaimed),
        remind_assignee=sec.duration("remind_assignee", d.remind_assignee),
        auto_close=sec.duration("auto_close", d.auto_close),
        retention=sec.duration("retention", d.retention),
        suggest=sec.integer("suggest", d.suggest, minimum=0, maximum=10))
