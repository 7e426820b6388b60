"""The network feature: membership recorded from events, newcomers welcomed, the record
brought up to date at start, the member gauges of `/metrics`, and the services behind
`!provision`, `!rooms` and `!members`."""

from __future__ import annotations

from bot.feature import Feature, Wiring
from rooms.arrivals import Arrivals
from rooms.membership import MembershipService
from rooms.network import NetworkRooms, NetworkService
from rooms.provisioning import Provisioner
from rooms.settings import RoomSettingsService
from rooms.welcome import Welcomer


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    network = deps.config.network
    welcomer = Welcomer(deps)
    provisioner = Provisioner(deps)
    wiring.listen(Arrivals(deps, welcomer).on_event)
    wiring.service("rooms", RoomSettingsService)
    wiring.service("network", lambda session: NetworkService(
        session, network, deps.clock, deps.config.command_prefix))
    wiring.service("provisioning", lambda _session: provisioner)

    async def member_gauges() -> None:
        async with deps.db.session() as session:
            known = await NetworkRooms(session, network).known()
            location_of = {k.room_id: k.spec.key for k in known if k.spec.kind == "location"}
            counts = await MembershipService(session, deps.clock).counts(list(location_of))
        members = {location_of[room_id]: n for room_id, n in counts.items()}
        for spec in network.locations:
            deps.metrics.members.labels(location=spec.key).set(members.get(spec.key, 0))

    wiring.on_start(provisioner.import_all)
    wiring.on_start(welcomer.flush_all)
    wiring.on_scrape(member_gauges)


FEATURE = Feature("network", setup)
