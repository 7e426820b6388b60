"""Typed, validated configuration.

`load_config(path, sections)` reads YAML, applies secrets from the environment and returns a
frozen `Config`, or raises `ConfigError` with one line per problem ("matrix.user_id: must look
like @name:server"). Unknown keys are errors with a hint, so a typo never silently does
nothing.

This module reads the core's keys (matrix, database, network, web's address, the prefix,
languages, coordinators); each feature owns its own section's parser and hands it in as a
`SectionSpec` (see `bot.feature`). A feature reads its section back with
`config.section(ForumsConfig)`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

import yaml

from bot.config_reader import ConfigSection, Duration, parse_duration
from bot.errors import ConfigError
from bot.i18n import SUPPORTED_LANGUAGES
from rooms.topology import NetworkConfig, parse_network

T = TypeVar("T")

MXID_RE = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
SERVER_RE = re.compile(r"^:[A-Za-z0-9.\-]+(:\d+)?$")
ENV_SECRETS = {
    "SBCC_MATRIX_ACCESS_TOKEN": ("matrix", "access_token"),
    "SBCC_MATRIX_PASSWORD": ("matrix", "password"),
    "SBCC_DATABASE_URL": ("database", "url"),
    "SBCC_CRYPTO_PASSPHRASE": ("matrix", "encryption", "store_passphrase"),
    "SBCC_MAIL_PASSWORD": ("mail", "password"),
}
DB_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
PLACEHOLDER_RE = re.compile(r"replace|change[-_ ]?me|^\.\.\.$|^x+$|^<.*>$", re.IGNORECASE)


def is_placeholder(secret: str) -> bool:
    """A secret copied from the example config and never filled in ("syt_replace_me",
    "replace-with-a-long-random-string", "..."): never a working one."""
    return bool(PLACEHOLDER_RE.search(secret.strip()))


@dataclass(frozen=True)
class EncryptionConfig:
    """End-to-end encryption (`matrix.encryption`): on by default, as in Element."""

    enabled: bool = True
    store_path: str | None = None  # the device's keys; None: next to the database
    store_passphrase: str | None = field(default=None, repr=False)  # encrypts the keys
    private_rooms: bool = True  # rooms the bot opens for private talk are encrypted
    undecryptable_wait: Duration = parse_duration("2m") or Duration("2m", 2, "m")

    def store_dir(self, database_url: str) -> Path:
        """Where the keys live: `store_path`, else beside a SQLite database file
        (`sbcc.db` → `sbcc.crypto/`), else `crypto-store/` in the working directory."""
        if self.store_path:
            return Path(self.store_path)
        sqlite = re.match(r"^sqlite\+aiosqlite:///(?!:memory:)(.+)$", database_url)
        if sqlite:
            db_file = Path(sqlite[1])
            return db_file.with_name(db_file.stem + ".crypto")
        return Path("crypto-store")

    @property
    def encrypt_private_rooms(self) -> bool:
        return self.enabled and self.private_rooms


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    access_token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    device_id: str | None = None
    encryption: EncryptionConfig = EncryptionConfig()

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = field(default="sqlite+aiosqlite:///sbcc.db", repr=False)
    schema: str | None = None  # PostgreSQL only: keep the bot's tables in this schema


@dataclass(frozen=True)
class WebConfig:
    """The HTTP side's address; features add their own keys under `web:` (hooks, …)."""

    listen: str | None = None  # "127.0.0.1:8080"; None: no HTTP side
    public_url: str | None = None

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = (self.listen or "").rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)


@dataclass(frozen=True)
class SectionSpec(Generic[T]):
    """A feature's config section: the YAML key it lives under and its parser. Several
    features may share a key (`web`): each reads its own keys of the same mapping."""

    key: str
    parse: Callable[[ConfigSection, NetworkConfig], T]


class HasSecrets(Protocol):
    def secrets(self) -> list[str]: ...


@dataclass(frozen=True)
class Config:
    matrix: MatrixConfig
    database: DatabaseConfig = DatabaseConfig()
    network: NetworkConfig = NetworkConfig()
    web: WebConfig = WebConfig()
    command_prefix: str = "!"
    default_language: str = "en"
    coordinators: tuple[str, ...] = ()
    allowed_inviters: tuple[str, ...] = ()
    log_level: str = "INFO"
    sections: Mapping[type, object] = field(default_factory=dict, repr=False)

    def section(self, kind: type[T]) -> T:
        """A feature's section, by its class; its defaults when it was not parsed."""
        found = self.sections.get(kind)
        return cast(T, found) if found is not None else kind()

    def secrets(self) -> list[str]:
        """Values that must never reach a log line or a reply."""
        values = [self.matrix.access_token, self.matrix.password,
                  self.matrix.encryption.store_passphrase]
        url_password = re.search(r"://[^:/@]+:([^@]+)@", self.database.url)
        if url_password:
            values.append(url_password.group(1))
        for section in self.sections.values():
            if hasattr(section, "secrets"):
                values.extend(cast(HasSecrets, section).secrets())
        return [v for v in values if v]

    def may_invite(self, inviter: str) -> bool:
        """Whether an invite from `inviter` is to be accepted."""
        if not self.allowed_inviters:
            return True
        server = ":" + inviter.split(":", 1)[-1]
        return inviter in self.allowed_inviters or server in self.allowed_inviters


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for var, (*sections, key) in ENV_SECRETS.items():
        if not environ.get(var):
            continue
        target: Any = raw
        for name in sections:
            if not isinstance(target, dict):
                break
            inner = target.get(name)
            target[name] = inner = dict(inner) if isinstance(inner, dict) else (
                {} if inner is None else inner)
            target = inner
        if isinstance(target, dict):
            target[key] = environ[var]


def _matrix(sec: ConfigSection) -> MatrixConfig:
    homeserver = sec.string("homeserver", required=True) or ""
    if homeserver and not re.match(r"^https?://[^\s/]+", homeserver):
        sec.fail("homeserver", "must be an http:// or https:// URL")
    user_id = sec.string("user_id", required=True) or ""
    if user_id and not MXID_RE.match(user_id):
        sec.fail("user_id", "must look like @name:server")
    token = sec.string("access_token")
    password = sec.string("password")
    for key, value in (("access_token", token), ("password", password)):
        if value is not None and is_placeholder(value):
            sec.fail(key, "is still the example's placeholder: put the bot's real one here "
                          "(or in the environment)")
    if not token and not password:
        sec.fail(
            "access_token",
            "either matrix.access_token or matrix.password is required "
            "(or SBCC_MATRIX_ACCESS_TOKEN / SBCC_MATRIX_PASSWORD in the environment)",
        )
    device_id = sec.string("device_id")
    encryption = _encryption(sec.section("encryption"))
    sec.finish()
    return MatrixConfig(homeserver.rstrip("/"), user_id, token, password, device_id,
                        encryption)


def _encryption(sec: ConfigSection) -> EncryptionConfig:
    default = EncryptionConfig()
    passphrase = sec.string("store_passphrase")
    if passphrase is not None and is_placeholder(passphrase):
        sec.fail("store_passphrase", "is still the example's placeholder: choose one (or "
                                     "leave it out)")
    config = EncryptionConfig(
        enabled=sec.boolean("enabled", default.enabled),
        store_path=sec.string("store_path"),
        store_passphrase=passphrase,
        private_rooms=sec.boolean("private_rooms", default.private_rooms),
        undecryptable_wait=sec.duration("undecryptable_wait", default.undecryptable_wait),
    )
    sec.finish()
    return config


def _database(sec: ConfigSection) -> DatabaseConfig:
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


def _mxids(top: ConfigSection, name: str, allow_servers: bool) -> tuple[str, ...]:
    values = top.strings(name)
    for value in values:
        if not (MXID_RE.match(value) or (allow_servers and SERVER_RE.match(value))):
            what = "a Matrix ID (@name:server) or a server (:example.org)" if allow_servers else (
                "a Matrix ID (@name:server)"
            )
            top.fail(name, f"'{value}' is not {what}")
    return values


def _web(sec: ConfigSection) -> WebConfig:
    listen = sec.string("listen")
    if listen is not None:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            sec.fail("listen", "must look like 127.0.0.1:8080")
    public_url = sec.string("public_url")
    if public_url is not None and not public_url.startswith(("https://", "http://")):
        sec.fail("public_url", "must be an http:// or https:// URL")
    return WebConfig(listen, public_url.rstrip("/") if public_url else None)


def parse_config(raw: Any, environ: Mapping[str, str] | None = None,
                 sections: Sequence[SectionSpec[Any]] = ()) -> Config:
    """Validate a decoded YAML document, with the features' `sections`; raises ConfigError
    listing every problem."""
    problems: list[str] = []
    if raw is None:
        raw = {}
    if isinstance(raw, dict):
        raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
        _apply_env(raw, os.environ if environ is None else environ)
    top = ConfigSection(raw, "", problems)
    matrix = _matrix(top.section("matrix"))
    database = _database(top.section("database"))
    network = parse_network(top.section("network"))
    # sections several features share, each reading its own keys (web: hooks, advice_rate…)
    shared: dict[str, ConfigSection] = {"web": top.section("web")}
    web = _web(shared["web"])
    parsed: dict[type, object] = {}
    for spec in sections:
        sec = shared.get(spec.key) or shared.setdefault(spec.key, top.section(spec.key))
        value = spec.parse(sec, network)
        parsed[type(value)] = value
    for sec in shared.values():
        sec.finish()
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
        web=web,
        command_prefix=prefix,
        default_language=language,
        coordinators=coordinators,
        allowed_inviters=inviters,
        log_level=log_level,
        sections=parsed,
    )


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None,
                sections: Sequence[SectionSpec[Any]] = ()) -> Config:
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
    return parse_config(raw, environ, sections)
