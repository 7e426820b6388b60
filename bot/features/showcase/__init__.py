"""The public showcase and consent to it: members who opted in (`!consent showcase on`)
and collaborations whose every member did, as a page, JSON and an Atom feed."""

from __future__ import annotations

from bot.feature import Feature, Wiring
from bot.features.showcase import web
from bot.features.showcase.service import ShowcaseService


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    wiring.service("showcase", lambda session: ShowcaseService(session, deps))
    wiring.routes(web.setup, templates=__name__)


FEATURE = Feature("showcase", setup)
