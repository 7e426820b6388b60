"""Features plug into the bot the way a discord.py Cog or a maubot plugin does: a package
under `bot/features/` (the network's own under `rooms/`) exports a `Feature`, whose
`setup(wiring)` registers everything the feature needs, and the App adds it with one line.

    FEATURE = Feature("forums", setup, config=(SectionSpec("forums", parse_forums),))

    def setup(wiring: Wiring) -> None:
        config = wiring.deps.config.section(ForumsConfig)
        reminders = ReminderSender(wiring.deps, config, messages)   # app-scoped, made once

        def forums(session: AsyncSession) -> ForumService:         # one per command
            return ForumService(session, wiring.deps, config, reminders, messages)

        wiring.service("forums", forums)          # ctx.services.forums
        wiring.listen(ForumReactions(wiring.deps, forums).on_event)
        wiring.on_start(reminders.catch_up)
        wiring.routes(CalendarRoutes(wiring.deps.db, forums).setup)

What a command reaches goes through `ctx.services.<name>`: each service is built for the
command's own database session (one transaction per command), from the factory its feature
registered here; app-scoped workers are made once in `setup` and handed to the factories.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from aiohttp import web

    from bot.config import SectionSpec
    from bot.deps import Deps
    from bot.events import RoomEvent

Listener = Callable[["RoomEvent"], Awaitable[None]]
Step = Callable[[], Awaitable[None]]
ServiceFactory = Callable[[AsyncSession], Any]
RouteSetup = Callable[["web.Application"], None]


@dataclass(frozen=True)
class Feature:
    name: str
    setup: Callable[[Wiring], None]
    config: tuple[SectionSpec[Any], ...] = ()


@dataclass(frozen=True)
class PersonalData:
    """What a feature holds about a member, for `!mydata` and `!forget-me` (GDPR):
    `export(session, mxid)` gives it as JSON-ready data; `erase(session, mxid, alias)`
    removes it, or — where a record must stay for others (a collaboration, a connection) —
    puts `alias` (a fresh "@former-…" name) in place of their Matrix ID; it returns how many
    records it touched. `what` (a msgid) tells the member what this is."""

    name: str  # the key in !mydata's JSON
    what: str
    export: Callable[[AsyncSession, str], Awaitable[Any]]
    erase: Callable[[AsyncSession, str, str], Awaitable[int]]


@dataclass(frozen=True)
class Job:
    """A scheduled job: APScheduler's `add_job(func, trigger, id=…, **options)`."""

    func: Callable[..., Awaitable[Any]]
    trigger: Any
    id: str
    options: Mapping[str, Any] = field(default_factory=dict)


class Wiring:
    """What the features registered, for the App to wire into the dispatcher, the
    scheduler, the start-up and the web side (and for tests to do the same)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.services: dict[str, ServiceFactory] = {}
        self.listeners: list[Listener] = []
        self.jobs: list[Job] = []
        self.startup: list[Step] = []
        self.route_setups: list[RouteSetup] = []
        self.template_packages: list[str] = []
        self.scrape_steps: list[Step] = []
        self.personal_data: list[PersonalData] = []

    def service(self, name: str, factory: ServiceFactory) -> None:
        """Make `ctx.services.<name>` a service built by `factory(session)`."""
        if name in self.services:
            raise ValueError(f"service {name!r} registered twice")
        self.services[name] = factory

    def listen(self, listener: Listener) -> None:
        """See every room event (messages, memberships, state, reactions, redactions)."""
        self.listeners.append(listener)

    def job(self, func: Callable[..., Awaitable[Any]], trigger: Any, *, id: str,
            **options: Any) -> None:
        self.jobs.append(Job(func, trigger, id, options))

    def on_start(self, step: Step) -> None:
        """Run at start, after login and before listening: catch up on what fell due."""
        self.startup.append(step)

    def routes(self, setup: RouteSetup, templates: str | None = None) -> None:
        """Add web routes (`setup(app)`); `templates` names a package whose `templates/`
        folder holds the feature's pages."""
        self.route_setups.append(setup)
        if templates is not None:
            self.template_packages.append(templates)

    def on_scrape(self, step: Step) -> None:
        """Refresh gauges just before `/metrics` is read."""
        self.scrape_steps.append(step)

    def holds(self, data: PersonalData) -> None:
        """Declare what the feature stores about members: `!mydata` exports it and
        `!forget-me` erases it (see `PersonalData`)."""
        if any(d.name == data.name for d in self.personal_data):
            raise ValueError(f"personal data {data.name!r} declared twice")
        self.personal_data.append(data)


class Services:
    """The services of one unit of work, bound to its session; each built on first use."""

    def __init__(self, session: AsyncSession, factories: Mapping[str, ServiceFactory]) -> None:
        self.session = session
        self._factories = factories

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        factory = self._factories.get(name)
        if factory is None:
            raise AttributeError(f"no service named {name!r}")
        service = factory(self.session)
        setattr(self, name, service)  # built once per unit of work
        return service
