"""The `web:` config section: the HTTP side (health, metrics, calendar, showcase, webhooks,
the advice form)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.config_reader import Section

RATE_RE = re.compile(r"^(\d{1,6})\s*/\s*(s|sec|second|m|min|minute|h|hour)$")
PER = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
       "hour": 3600}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @property
    def text(self) -> str:
        return f"{self.count}/{self.seconds}s"


def parse_rate(text: str) -> Rate | None:
    m = RATE_RE.match(str(text).strip().lower())
    if not m or int(m[1]) == 0:
        return None
    return Rate(int(m[1]), PER[m[2]])


@dataclass(frozen=True)
class Hook:
    name: str
    token: str = field(repr=False)
    rooms: tuple[str, ...]
    rate: Rate


@dataclass(frozen=True)
class WebConfig:
    listen: str | None = None  # "127.0.0.1:8080"; None: no HTTP side
    public_url: str | None = None
    hooks: dict[str, Hook] = field(default_factory=dict)
    advice_rate: Rate = Rate(5, 3600)

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = (self.listen or "").rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)


def parse_web(sec: Section) -> WebConfig:
    listen = sec.string("listen")
    if listen is not None:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            sec.fail("listen", "must look like 127.0.0.1:8080")
    public_url = sec.string("public_url")
    if public_url is not None and not public_url.startswith(("https://", "http://")):
        sec.fail("public_url", "must be an http:// or https:// URL")
    hooks: dict[str, Hook] = {}
    raw_hooks = sec.get("hooks", {}) or {}
    if not isinstance(raw_hooks, dict):
        sec.fail("hooks", "must map a hook name to {token, rooms}")
        raw_hooks = {}
    hooks_sec = sec.section("hooks")
    for name in raw_hooks:
        hook = hooks_sec.section(str(name))
        if not NAME_RE.match(str(name)):
            hooks_sec.fail(str(name), "a hook name is lower-case letters, digits, - or _")
        token = hook.string("token", required=True) or ""
        if token and len(token) < 16:
            hook.fail("token", "must be at least 16 characters (use a long random string)")
        rooms = hook.strings("rooms")
        if not rooms:
            hook.fail("rooms", "must name at least one network room key")
        rate_text = hook.string("rate", "30/min")
        rate = parse_rate(rate_text) or Rate(30, 60)
        if parse_rate(rate_text) is None:
            hook.fail("rate", "must look like 30/min, 5/s or 100/hour")
        hook.finish()
        hooks[str(name)] = Hook(str(name), token, rooms, rate)
    hooks_sec.seen.update(str(n) for n in raw_hooks)
    advice = sec.string("advice_rate", "5/hour")
    advice_rate = parse_rate(advice)
    if advice_rate is None:
        sec.fail("advice_rate", "must look like 5/hour")
        advice_rate = Rate(5, 3600)
    sec.finish()
    return WebConfig(listen, public_url.rstrip("/") if public_url else None, hooks,
                     advice_rate)
