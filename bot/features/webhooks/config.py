"""The webhooks' part of the `web:` config section: `web.hooks.<name>: {token, rooms,
rate}`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.config import is_placeholder
from bot.config_reader import ConfigSection
from bot.ratelimit import Rate, parse_rate
from rooms.topology import NetworkConfig

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Hook:
    name: str
    token: str = field(repr=False)
    rooms: tuple[str, ...]
    rate: Rate


@dataclass(frozen=True)
class HooksConfig:
    hooks: dict[str, Hook] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        return [hook.token for hook in self.hooks.values()]


def parse_hooks(sec: ConfigSection, network: NetworkConfig) -> HooksConfig:
    hooks: dict[str, Hook] = {}
    raw_hooks = sec.get("hooks", {}) or {}
    if not isinstance(raw_hooks, dict):
        sec.fail("hooks", "must map a hook name to {token, rooms}")
        raw_hooks = {}
    hooks_sec = sec.section("hooks")
    room_keys = {"partners", "advisory", *network.room_keys}  # as `room_by_key` finds them
    for name in raw_hooks:
        hook = hooks_sec.section(str(name))
        if not NAME_RE.match(str(name)):
            hooks_sec.fail(str(name), "a hook name is lower-case letters, digits, - or _")
        token = hook.string("token", required=True) or ""
        if token and is_placeholder(token):
            hook.fail("token", "is still the example's placeholder: use a long random string")
        elif token and len(token) < 16:
            hook.fail("token", "must be at least 16 characters (use a long random string)")
        rooms = hook.strings("rooms")
        if not rooms:
            hook.fail("rooms", "must name at least one network room key")
        for key in rooms:
            if key not in room_keys:
                hook.fail("rooms", f"'{key}' is not a network room (partners, advisory, a "
                                   "location key or a topic key)")
        rate_text = hook.string("rate", "30/min")
        rate = parse_rate(rate_text)
        if rate is None:
            hook.fail("rate", "must look like 30/min, 5/s or 100/hour")
        hook.finish()
        hooks[str(name)] = Hook(str(name), token, rooms, rate or Rate(30, 60))
    hooks_sec.seen.update(str(n) for n in raw_hooks)
    return HooksConfig(hooks)
