"""Run a real, throw-away Synapse homeserver on the loopback interface.

Used by the ``sbcc-bot demo`` command, the integration test fixtures and the benchmarks.
The server runs as a child process (``python -m synapse.app.homeserver``) from the
installed ``matrix-synapse`` package and keeps all of its state in one data directory:

``state.json``
    Server name, port and secrets, chosen on first start and reused afterwards.
``homeserver.yaml`` / ``log.config``
    Regenerated from ``state.json`` on every start (written as JSON, which YAML accepts).
``signing.key``, ``homeserver.db``, ``media_store/``
    Synapse's own data (SQLite database).
``homeserver.log`` / ``process.log``
    Synapse's log (INFO, file only) and the child's captured stdout/stderr.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import aiohttp

__all__ = ["EmbeddedSynapse", "RegisteredUser", "free_port"]

log = logging.getLogger(__name__)

_STATE_FILE = "state.json"
_CONFIG_FILE = "homeserver.yaml"
_LOG_CONFIG_FILE = "log.config"
_SIGNING_KEY_FILE = "signing.key"
_SYNAPSE_LOG = "homeserver.log"
_PROCESS_LOG = "process.log"

#: Effectively unlimited: Synapse keeps its defaults for any limiter not listed here.
_UNLIMITED: dict[str, float] = {"per_second": 100_000.0, "burst_count": 1_000_000}

#: Every ``rc_*`` limiter known to Synapse 1.16x (``synapse/config/ratelimiting.py``);
#: dotted names are nested sections.
_RATE_LIMITERS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_admin_redaction",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_room_creation",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now (it may be taken later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RegisteredUser:
    """Credentials of a user on the embedded homeserver."""

    user_id: str
    access_token: str
    device_id: str
    password: str


def _rate_limit_config() -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name in _RATE_LIMITERS:
        *parents, leaf = name.split(".")
        section = config
        for parent in parents:
            section = section.setdefault(parent, {})
        section[leaf] = dict(_UNLIMITED)
    return config


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"<{path.name} missing>"
    return "\n".join(text.splitlines()[-lines:])


class EmbeddedSynapse:
    """A local Synapse child process serving the client API on ``127.0.0.1:<port>``.

    ``port=None`` picks a free port on first start; the port and server name are stored in
    ``data_dir`` and win over the constructor arguments on later starts of the same
    directory (an explicit ``port`` still overrides the stored one).
    """

    def __init__(
        self,
        data_dir: Path,
        server_name: str = "localhost",
        port: int | None = None,
        python: str = sys.executable,
    ) -> None:
        self._data_dir = Path(data_dir).resolve()
        self._server_name = server_name
        self._port = port
        self._python = python
        self._proc: asyncio.subprocess.Process | None = None
        self._killed = False  # kill() sent, child not necessarily reaped yet
        self._state: dict[str, Any] | None = None

    # -- properties ---------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """Directory holding the configuration, database, media and logs."""
        return self._data_dir

    @property
    def server_name(self) -> str:
        """The Matrix server name (the part after ``:`` in user ids)."""
        return self._server_name

    @property
    def port(self) -> int:
        """The HTTP port; only known once the server has been started (or stored)."""
        if self._port is None:
            raise RuntimeError("port not chosen yet; call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """Homeserver URL for clients, e.g. ``http://127.0.0.1:8008``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the running server, or ``None`` when it is not running."""
        if self._proc is None or self._proc.returncode is not None or self._killed:
            return None
        return self._proc.pid

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.pid is not None

    # -- setup --------------------------------------------------------------------------

    def _load_state(self) -> dict[str, Any]:
        """Read ``state.json``, creating it (with fresh secrets and port) on first use."""
        if self._state is not None:
            return self._state
        self._data_dir.mkdir(parents=True, exist_ok=True)
        path = self._data_dir / _STATE_FILE
        if path.exists():
            state: dict[str, Any] = json.loads(path.read_text())
            if state["server_name"] != self._server_name:
                log.info("data dir %s is bound to server name %s", path, state["server_name"])
            self._port = self._port or int(state["port"])
        else:
            state = {
                "server_name": self._server_name,
                "registration_shared_secret": secrets.token_urlsafe(32),
                "macaroon_secret_key": secrets.token_urlsafe(32),
                "form_secret": secrets.token_urlsafe(32),
            }
        state["port"] = self._port = self._port or free_port()
        self._server_name = state["server_name"]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
        self._state = state
        return state

    def _write_config(self) -> Path:
        """(Re)write the signing key (once), log config and homeserver config."""
        state = self._load_state()
        data = self._data_dir
        key_path = data / _SIGNING_KEY_FILE
        if not key_path.exists():
            # An ed25519 signing key is any 32-byte seed, stored as unpadded base64.
            seed = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
            key_path.write_text(f"ed25519 a_{secrets.token_hex(2)} {seed}\n")
            key_path.chmod(0o600)
        (data / "media_store").mkdir(exist_ok=True)

        log_config = {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "precise": {
                    "format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s"
                    " - %(request)s - %(message)s"
                }
            },
            "filters": {"context": {"()": "synapse.logging.context.LoggingContextFilter"}},
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "filename": str(data / _SYNAPSE_LOG),
                    "formatter": "precise",
                    "filters": ["context"],
                    "encoding": "utf8",
                }
            },
            "loggers": {"synapse.storage.SQL": {"level": "WARNING"}},
            "root": {"level": "INFO", "handlers": ["file"]},
        }
        (data / _LOG_CONFIG_FILE).write_text(json.dumps(log_config, indent=2))

        config = {
            "server_name": state["server_name"],
            "public_baseurl": f"http://127.0.0.1:{self.port}/",
            "pid_file": str(data / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(data / "homeserver.db")}},
            "log_config": str(data / _LOG_CONFIG_FILE),
            "media_store_path": str(data / "media_store"),
            "signing_key_path": str(key_path),
            "registration_shared_secret": state["registration_shared_secret"],
            "macaroon_secret_key": state["macaroon_secret_key"],
            "form_secret": state["form_secret"],
            "enable_registration": False,
            "report_stats": False,
            "enable_metrics": False,
            "url_preview_enabled": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "presence": {"enabled": False},
            **_rate_limit_config(),
        }
        path = data / _CONFIG_FILE
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
        return path

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self, timeout: float = 60) -> None:  # noqa: ASYNC109 (public API)
        """Start the server and wait until the client API answers.

        Raises ``RuntimeError`` (with the log tail) if the process exits during startup and
        ``TimeoutError`` if it is not ready within ``timeout`` seconds (it is then killed).
        """
        if self.running:
            raise RuntimeError(f"Synapse already running (pid {self.pid})")
        if self._proc is not None:
            await self._proc.wait()  # reap a kill()ed process
        self._killed = False
        config_path = self._write_config()
        with self._open_process_log() as out:
            self._proc = await asyncio.create_subprocess_exec(
                self._python,
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(config_path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self._data_dir,
                # Ctrl-C in a terminal reaches the bot only; the bot then stops the server
                # after its in-flight commands, not before.
                start_new_session=True,
            )
        try:
            await self._wait_ready(self._proc, asyncio.get_running_loop().time() + timeout)
        except BaseException:  # includes cancellation: never leave a half-started server
            self.kill()
            raise

    def _open_process_log(self) -> BinaryIO:
        out = (self._data_dir / _PROCESS_LOG).open("ab")
        out.write(f"--- starting Synapse on {self.base_url}\n".encode())
        out.flush()
        return out

    async def _wait_ready(self, proc: asyncio.subprocess.Process, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        url = f"{self.base_url}/_matrix/client/versions"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(
                        f"Synapse exited with code {proc.returncode} during startup\n"
                        + self.log_tail()
                    )
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url) as resp:
                        if resp.status == 200:
                            return
                if loop.time() > deadline:
                    raise TimeoutError("Synapse not ready in time\n" + self.log_tail())
                await asyncio.sleep(0.05)

    async def stop(self, timeout: float = 30) -> None:  # noqa: ASYNC109 (public API)
        """Stop the server with SIGTERM, escalating to SIGKILL after ``timeout`` seconds."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                log.warning("Synapse pid %s ignored SIGTERM; killing it", proc.pid)
                self.kill()
        await proc.wait()

    def kill(self) -> None:
        """SIGKILL the server immediately (simulates a crash); ``start()`` works afterwards."""
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            self._killed = True

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the process output and of Synapse's own log."""
        return "\n".join(
            f"==> {name} <==\n{_tail(self._data_dir / name, lines)}"
            for name in (_PROCESS_LOG, _SYNAPSE_LOG)
        )

    async def __aenter__(self) -> EmbeddedSynapse:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- users --------------------------------------------------------------------------

    async def register(
        self,
        localpart: str,
        password: str,
        admin: bool = False,
        displayname: str | None = None,
    ) -> RegisteredUser:
        """Create a user via the shared-secret admin API, or log in if it already exists.

        Each call yields a new device and access token.
        """
        secret = self._load_state()["registration_shared_secret"].encode()
        url = f"{self.base_url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as resp:
                resp.raise_for_status()
                nonce = (await resp.json())["nonce"]
            message = b"\x00".join(
                (
                    nonce.encode(),
                    localpart.encode(),
                    password.encode(),
                    b"admin" if admin else b"notadmin",
                )
            )
            body: dict[str, Any] = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": hmac.new(secret, message, hashlib.sha1).hexdigest(),
            }
            if displayname is not None:
                body["displayname"] = displayname
            async with session.post(url, json=body) as resp:
                data = await resp.json()
            if resp.status != 200:
                if data.get("errcode") != "M_USER_IN_USE":
                    raise RuntimeError(f"registering {localpart!r} failed: {data}")
                login = {
                    "type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": localpart},
                    "password": password,
                }
                async with session.post(
                    f"{self.base_url}/_matrix/client/v3/login", json=login
                ) as resp:
                    data = await resp.json()
                    if resp.status != 200:
                        raise RuntimeError(f"logging in {localpart!r} failed: {data}")
        return RegisteredUser(
            user_id=data["user_id"],
            access_token=data["access_token"],
            device_id=data["device_id"],
            password=password,
        )
