"""The App owns everything that lives for the bot's lifetime and starts/stops it in order:
config → database → translator → web → the lead (`bot.leader`: a standby waits here) →
gateway (login) → scheduler → features' catch-ups → sync loop. The features are a list:
adding one is one line in `FEATURES`."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

import commands
from bot import config as config_module
from bot.config import Config, SectionSpec
from bot.db import Database
from bot.db.models import BotSession
from bot.deps import Deps
from bot.dispatcher import Dispatcher
from bot.errors import GatewayError
from bot.feature import Feature, Wiring
from bot.features import (
    advice,
    collaborations,
    digest,
    forums,
    matchmaking,
    privacy,
    profiles,
    relays,
    showcase,
    strategies,
    webhooks,
)
from bot.framework import Registry
from bot.gateway import MatrixGateway
from bot.i18n import Translator
from bot.leader import Leadership
from bot.logs import RedactSecrets
from bot.members import MemberService
from bot.sync_loop import SyncLoop
from bot.web.pages import WebState
from bot.web.server import WebServer, create_app, writes_on_leader
from rooms import feature as network

log = logging.getLogger(__name__)

FEATURES: tuple[Feature, ...] = (
    privacy.FEATURE,  # first: its member record is exported first and erased last
    network.FEATURE,
    profiles.FEATURE,
    matchmaking.FEATURE,
    collaborations.FEATURE,
    forums.FEATURE,
    digest.FEATURE,
    relays.FEATURE,
    showcase.FEATURE,
    webhooks.FEATURE,
    advice.FEATURE,
    strategies.FEATURE,
)


def config_sections(features: Sequence[Feature] = FEATURES) -> list[SectionSpec[Any]]:
    return [spec for feature in features for spec in feature.config]


def parse_config(raw: Any, environ: Mapping[str, str] | None = None,
                 features: Sequence[Feature] = FEATURES) -> Config:
    """The configuration with every feature's section (see `bot.config.parse_config`)."""
    return config_module.parse_config(raw, environ, config_sections(features))


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None,
                features: Sequence[Feature] = FEATURES) -> Config:
    return config_module.load_config(path, environ, config_sections(features))


def load_commands() -> Registry:
    """A registry with every command module's commands."""
    return commands.load(Registry())


def wire(deps: Deps, features: Sequence[Feature] = FEATURES) -> Wiring:
    """The core's own services and jobs, then each feature's."""
    wiring = Wiring(deps)
    wiring.service("members", lambda session: MemberService(session, deps.clock))
    for feature in features:
        feature.setup(wiring)
    return wiring


class App:
    def __init__(self, config: Config, *, redactor: RedactSecrets | None = None,
                 features: Sequence[Feature] = FEATURES) -> None:
        self.config = config
        self.redactor = redactor
        self.db = Database(config.database.url, schema=config.database.schema)
        self.translator = Translator()
        e2e = config.matrix.encryption
        self.gateway = MatrixGateway(
            config.matrix.homeserver, config.matrix.user_id, config.matrix.device_id,
            store_path=e2e.store_dir(config.database.url) if e2e.enabled else None,
            passphrase=e2e.store_passphrase or "")
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.deps = Deps(config=config, db=self.db, gateway=self.gateway,
                         translator=self.translator, scheduler=self.scheduler)
        self.wiring = wire(self.deps, features)
        for job in self.wiring.jobs:
            self.scheduler.add_job(job.func, job.trigger, id=job.id, **job.options)
        self.registry = load_commands()
        self.dispatcher = Dispatcher(self.deps, self.registry, self.wiring.services,
                                     self.wiring.listeners)
        # encrypted events kept for their keys: tried again, and given up on, regularly —
        # at least twice within the configured wait, so a short wait is kept to
        wait = config.matrix.encryption.undecryptable_wait.delta.total_seconds()
        self.scheduler.add_job(self.dispatcher.retry_kept, "interval",
                               seconds=min(30.0, max(1.0, wait / 2)),
                               id="kept-events", coalesce=True, max_instances=1)
        self.sync = SyncLoop(self.gateway, self.dispatcher, self.db, self.deps.clock)
        self.leadership = Leadership(config.database.url, user_id=config.matrix.user_id,
                                     schema=config.database.schema)
        self.lost_lead = False  # it led, and lost the lock: another process may lead now
        self._stopping = asyncio.Event()
        self.web: WebServer | None = None
        if config.web.listen:
            state = WebState(last_sync=lambda: self.sync.last_sync,
                             scrape_steps=self.wiring.scrape_steps,
                             role=lambda: self.leadership.role.value)
            app = create_app(self.deps, state, self.wiring.route_setups,
                             self.wiring.template_packages,
                             middlewares=[writes_on_leader(lambda: self.leadership.leading)])
            self.web = WebServer(app, *config.web.host_port)

    async def connect(self) -> None:
        """Database schema, Matrix login and the device's keys: what every subcommand
        needs."""
        await self.db.migrate()
        await self._login()
        await self.gateway.open_keys()

    async def start(self) -> None:
        await self.connect()
        self.scheduler.start()
        for step in self.wiring.startup:
            try:
                await step()
            except Exception:  # what was due is in the database and is tried again later
                log.exception("a catch-up step at start failed; the bot starts anyway")
        log.info("sbcc-bot started as %s (device %s)", self.gateway.user_id,
                 self.gateway.device_id)

    async def _login(self) -> None:
        m = self.config.matrix
        if m.access_token:
            self.gateway.restore(m.device_id, m.access_token)
        else:
            async with self.db.session() as session:
                saved = await session.get(BotSession, m.user_id)
                if saved is not None and saved.homeserver == m.homeserver:
                    self.gateway.restore(saved.device_id, saved.access_token)
            if saved is None or saved.homeserver != m.homeserver:
                await self._password_login()
        try:
            user_id, device_id = await self.gateway.whoami()
        except GatewayError as exc:
            if exc.errcode != "M_UNKNOWN_TOKEN" or not m.password:
                raise
            log.warning("the saved access token was rejected; logging in again")
            await self._password_login()
            user_id, device_id = await self.gateway.whoami()
        if user_id != m.user_id:
            raise GatewayError(f"the access token belongs to {user_id}, not {m.user_id}")
        if device_id and not self.gateway.device_id:
            self.gateway.use_device(device_id)
        if self.redactor:
            self.redactor.add(self.gateway.access_token)

    async def _password_login(self) -> None:
        """Log in with the password, as the same device as before when there was one:
        its encryption keys stay valid (a new device could not read older messages)."""
        m = self.config.matrix
        assert m.password is not None
        async with self.db.session() as session:
            saved = await session.get(BotSession, m.user_id)
        same_device = saved.device_id if saved and saved.homeserver == m.homeserver else None
        self.gateway.use_device(m.device_id or same_device or None)
        await self.gateway.login_password(m.password)
        async with self.db.session() as session:
            row = await session.get(BotSession, m.user_id)
            if row is None:
                row = BotSession(user_id=m.user_id, device_id="", access_token="", homeserver="")
                session.add(row)
            row.device_id = self.gateway.device_id or ""
            row.access_token = self.gateway.access_token
            row.homeserver = m.homeserver
        log.info("logged in with the password; device %s saved", self.gateway.device_id)

    async def run(self) -> None:
        """Run until `stop()`; then finish in-flight commands and save the position."""
        await self.sync.run()

    def stop(self) -> None:
        log.info("stopping: finishing in-flight commands")
        self._stopping.set()
        self.sync.stop()
        self.dispatcher.stop()
        # retries give up from now on: what cannot be finished is redelivered next start
        self.gateway.stop()

    def _lose_lead(self) -> None:
        """The lock is gone: stop handling at once. In-flight commands are cancelled (their
        events come again to the next leader, whose resends fold into any reply already
        sent); no job runs from now on."""
        self.lost_lead = True
        self._stopping.set()
        if self.scheduler.running:
            self.scheduler.pause()
        self.sync.abort()
        self.dispatcher.stop()
        self.gateway.stop()

    async def close(self) -> None:
        if self.web is not None:
            await self.web.stop()
        self.gateway.stop()
        await self.leadership.release()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.gateway.close()
        await self.db.close()

    async def serve(self) -> None:
        """web → lead (a standby waits here) → start → run → close, close guaranteed.
        Returns when stopped, or at once when the lead is lost (`lost_lead`)."""
        try:
            if self.web is not None:
                await self.web.start()
            if not await self.leadership.acquire(self._stopping):
                return
            self.leadership.watch(self._lose_lead)
            await self.start()
            if not self._stopping.is_set():
                await self.run()
        finally:
            await asyncio.shield(self.close())
