"""Typed, validated configuration.

`load_config(path)` reads YAML, applies secrets from the environment and returns a frozen
`Config`, or raises `ConfigError` with one line per problem ("matrix.user_id: must look like
@name:server"). Unknown keys are errors with a hint, so a typo never silently does nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config_reader import Section
from bot.digest_config import DigestConfig, parse_digest
from bot.errors import ConfigError
from bot.forums_config import ForumsConfig, parse_forums
from bot.i18n import SUPPORTED_LANGUAGES
from bot.matching_config import (
    MatchmakingConfig,
    TagsConfig,
    parse_matchmaking,
    parse_tags,
)
from bot.web_config import WebConfig, parse_web
from rooms.topology import NetworkConfig, parse_network

MXID_RE = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
SERVER_RE = re.compile(r"^:[A-Za-z0-9.\-]+(:\d+)?$")
ENV_SECRETS = {
    "SBCC_MATRIX_ACCESS_TOKEN": ("matrix", "access_token"),
    "SBCC_MATRIX_PASSWORD": ("matrix", "password"),
    "SBCC_DATABASE_URL": ("database", "url"),
}
DB_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    access_token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    device_id: str | None = None

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = field(default="sqlite+aiosqlite:///sbcc.db", repr=False)
    schema: str | None = None  # PostgreSQL only: keep the bot's tables in this schema


@dataclass(frozen=True)
class Config:
    matrix: MatrixConfig
    database: DatabaseConfig = DatabaseConfig()
    network: NetworkConfig = NetworkConfig()
    tags: TagsConfig = TagsConfig()
    matchmaking: MatchmakingConfig = MatchmakingConfig()
    forums: ForumsConfig = ForumsConfig()
    digest: DigestConfig = DigestConfig()
    web: WebConfig = WebConfig()
    command_prefix: str = "!"
    default_language: str = "en"
    coordinators: tuple[str, ...] = ()
    allowed_inviters: tuple[str, ...] = ()
    log_level: str = "INFO"

    def secrets(self) -> list[str]:
        """Values that must never reach a log line or a reply."""
        values = [self.matrix.access_token, self.matrix.password]
        url_password = re.search(r"://[^:/@]+:([^@]+)@", self.database.url)
        if url_password:
            values.append(url_password.group(1))
        values.extend(hook.token for hook in self.web.hooks.values())
        return [v for v in values if v]

    def may_invite(self, inviter: str) -> bool:
        """Whether an invite from `inviter` is to be accepted."""
        if not self.allowed_inviters:
            return True
        server = ":" + inviter.split(":", 1)[-1]
        return inviter in self.allowed_inviters or server in self.allowed_inviters


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for var, (section, key) in ENV_SECRETS.items():
        if environ.get(var):
            target = raw.setdefault(section, {})
            if isinstance(target, dict):
                target[key] = environ[var]


def _matrix(sec: Section) -> MatrixConfig:
    homeserver = sec.string("homeserver", required=True) or ""
    if homeserver and not re.match(r"^https?://[^\s/]+", homeserver):
        sec.fail("homeserver", "must be an http:// or https:// URL")
    user_id = sec.string("user_id", required=True) or ""
    if user_id and not MXID_RE.match(user_id):
        sec.fail("user_id", "must look like @name:server")
    token = sec.string("access_token")
    password = sec.string("password")
    if not token and not password:
        sec.fail(
            "access_token",
            "either matrix.access_token or matrix.password is required "
            "(or SBCC_MATRIX_ACCESS_TOKEN / SBCC_MATRIX_PASSWORD in the environment)",
        )
    device_id = sec.string("device_id")
    sec.finish()
    return MatrixConfig(homeserver.rstrip("/"), user_id, token, password, device_id)


def _database(sec: Section) -> DatabaseConfig:
    url = sec.string("url", DatabaseConfig.url)
    if url.startswith("sqlite:///"):
        url = "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    elif url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    if not url.startswith(DB_SCHEMES):
        sec.fail("url", "must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    schema = sec.string("schema")
    if schema and not re.match(r"^[a-z_][a-z0-9_]{0,62}$", schema):
        sec.fail("schema", "must be a lower-case SQL identifier")
    if schema and url.startswith("sqlite"):
        sec.fail("schema", "is only for PostgreSQL")
    sec.finish()
    return DatabaseConfig(url, schema)


def _mxids(top: Section, name: str, allow_servers: bool) -> tuple[str, ...]:
    values = top.strings(name)
    for value in values:
        if not (MXID_RE.match(value) or (allow_servers and SERVER_RE.match(value))):
            what = "a Matrix ID (@name:server) or a server (:example.org)" if allow_servers else (
                "a Matrix ID (@name:server)"
            )
            top.fail(name, f"'{value}' is not {what}")
    return values


def parse_config(raw: Any, environ: Mapping[str, str] | None = None) -> Config:
    """Validate a decoded YAML document; raises ConfigError listing every problem."""
    problems: list[str] = []
    if raw is None:
        raw = {}
    if isinstance(raw, dict):
        raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
        _apply_env(raw, os.environ if environ is None else environ)
    top = Section(raw, "", problems)
    matrix = _matrix(top.section("matrix"))
    database = _database(top.section("database"))
    network = parse_network(top.section("network"))
    tags = parse_tags(top.section("tags"))
    matchmaking = parse_matchmaking(top.section("matchmaking"))
    forums = parse_forums(top.section("forums"))
    digest = parse_digest(top.section("digest"))
    web = parse_web(top.section("web"))
    hook_keys = {"partners", "advisory", *network.location_by_key,
                 *(t.key for t in network.topics)}
    for hook in web.hooks.values():
        for key in hook.rooms:
            if key not in hook_keys:
                problems.append(f"web.hooks.{hook.name}.rooms: '{key}' is not a network room "
                                "(partners, advisory, a location key or a topic key)")
    room_keys = {"partners", *network.location_by_key, *(t.key for t in network.topics)}
    for key in digest.rooms:
        if network.configured and key not in room_keys:
            problems.append(f"digest.rooms: '{key}' is not a network room (partners, a "
                            "location key or a topic key)")
    topic_keys = {t.key for t in network.topics}
    for key in forums.announce_topics:
        if key not in topic_keys:
            problems.append(f"forums.announce_topics: '{key}' is not a topic key of "
                            f"network.topics ({', '.join(sorted(topic_keys)) or 'none'})")
    prefix = top.string("command_prefix", "!")
    if prefix and (len(prefix) > 3 or any(c.isspace() for c in prefix)):
        top.fail("command_prefix", "must be 1 to 3 characters without spaces")
    language = top.string("default_language", "en")
    if language not in SUPPORTED_LANGUAGES:
        top.fail("default_language", f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    coordinators = _mxids(top, "coordinators", allow_servers=False)
    inviters = _mxids(top, "allowed_inviters", allow_servers=True)
    log_level = (top.string("log_level", "INFO") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        top.fail("log_level", "must be DEBUG, INFO, WARNING or ERROR")
    top.finish()
    if problems:
        raise ConfigError(problems)
    return Config(
        matrix=matrix,
        database=database,
        network=network,
        tags=tags,
        matchmaking=matchmaking,
        forums=forums,
        digest=digest,
        web=web,
        command_prefix=prefix,
        default_language=language,
        coordinators=coordinators,
        allowed_inviters=inviters,
        log_level=log_level,
    )


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the YAML file at `path`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read the file ({exc.strerror})"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([f"{p}: not valid YAML{where}"]) from None
    return parse_config(raw, environ)
