"""The public showcase and consent to it: members who opted in (`!consent showcase on`)
and collaborations whose every member confirmed and opted in, as a page, JSON and an Atom
feed.

- `consent.py`: `ConsentService` (`ctx.services.consent`), what a member allows;
- `service.py`: `ShowcaseService`, what the showcase shows (read only);
- `web.py`: `GET /showcase`, `/showcase.json`, `/showcase.atom`;
- `commands/consent.py`: `!consent [showcase on|off]`.
"""

from __future__ import annotations

from bot.feature import Feature, Wiring
from bot.features.showcase import web
from bot.features.showcase.consent import ConsentService
from bot.members import MemberService


def setup(wiring: Wiring) -> None:
    clock = wiring.deps.clock
    wiring.service("consent", lambda session: ConsentService(MemberService(session, clock)))
    wiring.routes(web.setup, templates=__name__)


FEATURE = Feature("showcase", setup)
