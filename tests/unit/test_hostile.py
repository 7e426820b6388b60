"""What a hostile or careless user would try: random command lines through the real
dispatcher never get the generic "something went wrong" (every bad input has a clear
answer), and every coordinator-only command is refused to a member, an outsider and someone
with power 100 in a room of their own."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import load_commands
from bot.deps import Deps
from bot.dispatcher import Dispatcher
from bot.events import Message
from bot.gateway import to_room_event
from bot.i18n import SUPPORTED_LANGUAGES, Translator
from rooms.membership import MembershipService
from tests.conftest import network, room_id
from tests.fakes import Driver, FakeGateway

# the start of the generic apology, in every language the room or member may read
GENERIC = {Translator().gettext("Something went wrong (reference %(ref)s). The coordinators "
                                "can look it up.", lang).split("%(ref)s")[0]
           for lang in ("en", "pl", "de", "lt", "sv")}
SEQ = itertools.count()
NAMES = sorted({c.qualified_name for top in load_commands() for c in top.walk()})
WORDS = st.sampled_from([
    "", "-", "--all", "--allxyz", "--capacity", "--capacity 0", "--online x", "#12", "0",
    "-1", "99999999999999999999", "1e9", "²", "٣", "@room", "@ala:test", "@x", "@",
    "https://matrix.to/#/@ala:test", "https://matrix.to/#/%40<script>", "with", "on", "off",
    "yes", "maybe", "no", "withdraw", "confirm", "leave", "szczecin", "Rostock", "atlantis",
    "#design", "#games",
    "2027-05-14", "0001-01-01", "9999-06-01", "25:99", "10:00", "pl", "xx", "\u202e\u202d",
    '"', "'", "„open", "«", "x" * 300, "a,b,c", ";;;", "\n", "\x00", "\ud7ff", "🎉",
])
TEXT = st.text(max_size=40)  # lone surrogates too: JSON's \ud800 escapes can carry them


ARGS = st.lists(WORDS | TEXT, max_size=6).map(" ".join)


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    deps = await make_deps(network=network("szczecin", "rostock", topics=("design",),
                                             partners="en", advisory="en"))
    async with deps.db.session() as s:  # ala is a member: she sees what members see
        await MembershipService(s, deps.clock).import_room(
            room_id("location:szczecin"), {"@ala:test"}, exclude="@sbcc:test")
    return deps


@pytest.mark.parametrize("name", [*NAMES, "unknown-thing"])
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(args=ARGS, who=st.sampled_from(["@ala:test", "@coord:test", "@eve:else"]))
async def test_no_input_gets_the_generic_error(driver: Driver, name: str, args: str,
                                               who: str) -> None:
    """Every command (and subcommand), with arguments a careless or hostile user could
    type, from a member, a coordinator and an outsider."""
    line = f"!{name} {args}"
    raw = {"type": "m.room.message", "event_id": f"$h{next(SEQ)}", "sender": who,
           "content": {"msgtype": "m.text", "body": line}}  # as the homeserver's JSON has it
    message = to_room_event(room_id("location:szczecin"), raw)
    assert isinstance(message, Message)
    for out in await driver.deliver(message):
        assert not any(g in out.body for g in GENERIC), (line, who, out.body)
        assert len(out.body.encode()) < 64_000


COORDINATOR_ONLY = sorted(c.qualified_name for top in load_commands() for c in top.walk()
                          if c.checks and any(k.name == "coordinator" for k in c.checks))


REFUSALS = {"⚠️ " + Translator().gettext("Only coordinators may use this command.", lang)
            for lang in SUPPORTED_LANGUAGES}


def test_the_matrix_covers_what_coordinators_may_do() -> None:
    for name in ("provision", "announce", "attendees", "matchround", "forum add",
                 "forum edit", "forum cancel", "digest"):
        assert name in COORDINATOR_ONLY, name


@pytest.mark.parametrize("name", COORDINATOR_ONLY)
async def test_coordinator_commands_are_refused_to_everyone_else(
        name: str, deps: Deps, dispatcher: Dispatcher, gateway: FakeGateway) -> None:
    driver = Driver(dispatcher, gateway)
    own_room = "!eves-own:test"  # Eve made it, gave herself and the bot power 100
    gateway.power[(own_room, "@eve:test")] = math.inf
    gateway.power[(own_room, gateway.user_id)] = 100
    cases = [("@ala:test", room_id("location:szczecin")),  # a member
             ("@out:elsewhere", room_id("location:szczecin")),  # an outsider
             ("@eve:test", own_room)]  # power 100 in a room of her own
    for sender, room in cases:
        sent = len(gateway.sent)
        [answer] = await driver.send(f"!{name}", sender=sender, room_id=room)
        assert answer.body in REFUSALS, (name, sender, answer.body)
        assert len(gateway.sent) == sent + 1  # nothing else was posted anywhere
