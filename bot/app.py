"""The App owns everything that lives for the bot's lifetime and starts/stops it in order:
config → database → translator → gateway (login) → scheduler → sync loop."""

from __future__ import annotations

import asyncio
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config
from bot.db import Database
from bot.db.models import BotSession
from bot.deps import Deps
from bot.dispatcher import Dispatcher
from bot.errors import GatewayError
from bot.gateway import MatrixGateway
from bot.i18n import Translator
from bot.logs import RedactSecrets
from bot.scheduler import add_foundation_jobs, add_round_jobs
from bot.services.activity import ActivityCounter
from bot.services.digest_delivery import DigestSender
from bot.services.forum_reactions import ForumReactions
from bot.services.reminders import ReminderSender
from bot.services.rounds import RoundRunner
from bot.sync_loop import SyncLoop
from bot.web import WebServer
from commands import load_commands
from rooms.arrivals import Arrivals
from rooms.provisioning import import_all_members
from rooms.welcome import Welcomer

log = logging.getLogger(__name__)


class App:
    def __init__(self, config: Config, *, redactor: RedactSecrets | None = None) -> None:
        self.config = config
        self.redactor = redactor
        self.db = Database(config.database.url, schema=config.database.schema)
        self.translator = Translator()
        self.gateway = MatrixGateway(config.matrix.homeserver, config.matrix.user_id,
                                     config.matrix.device_id)
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.deps = Deps(config=config, db=self.db, gateway=self.gateway,
                         translator=self.translator, registry=load_commands(),
                         scheduler=self.scheduler)
        add_foundation_jobs(self.scheduler, self.deps)
        self.dispatcher = Dispatcher(self.deps, self.deps.registry)
        self.welcomer = Welcomer(self.deps)
        self.dispatcher.add_hook(Arrivals(self.deps, self.welcomer).on_event)
        self.rounds = RoundRunner(self.deps)
        self.dispatcher.add_hook(self.rounds.on_event)
        add_round_jobs(self.scheduler, self.deps, self.rounds)
        self.reminders = ReminderSender(self.deps)
        self.dispatcher.add_hook(ForumReactions(self.deps, self.reminders).on_event)
        self.dispatcher.add_hook(ActivityCounter(self.deps).on_event)
        self.digests = DigestSender(self.deps)
        self.scheduler.add_job(self.digests.deliver, self.digests.trigger(), id="digest",
                               coalesce=True, misfire_grace_time=3600)
        self.sync = SyncLoop(self.gateway, self.dispatcher, self.db, self.deps.clock)
        self.web: WebServer | None = None
        if config.web.listen:
            from bot.web import WebState, create_app

            state = WebState(last_sync=lambda: self.sync.last_sync)
            self.web = WebServer(create_app(self.deps, state), *config.web.host_port)

    async def connect(self) -> None:
        """Database schema and Matrix login: what every subcommand needs."""
        await self.db.migrate()
        await self._login()

    async def start(self) -> None:
        await self.connect()
        self.scheduler.start()
        for step in (import_all_members(self.deps), self.welcomer.flush_all(),
                     self.rounds.schedule_pending(), self.reminders.catch_up(),
                     self.digests.catch_up()):
            try:
                await step
            except Exception:  # what was due is in the database and is tried again later
                log.exception("a catch-up step at start failed; the bot starts anyway")
        if self.web is not None:
            await self.web.start()
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
            self.gateway.client.device_id = device_id
        if self.redactor:
            self.redactor.add(self.gateway.access_token)

    async def _password_login(self) -> None:
        m = self.config.matrix
        assert m.password is not None
        self.gateway.client.device_id = m.device_id
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
        self.sync.stop()
        # retries give up from now on: what cannot be finished is redelivered next start
        self.gateway.stop()

    async def close(self) -> None:
        if self.web is not None:
            await self.web.stop()
        self.gateway.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.gateway.close()
        await self.db.close()

    async def serve(self) -> None:
        """start → run → close, with close guaranteed."""
        try:
            await self.start()
            await self.run()
        finally:
            await asyncio.shield(self.close())
