"""Which Matrix rooms are the network's, as provisioned (the database is the record), and
what members ask about them: the rooms (`!rooms`) and who is in each (`!members`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import NetworkRoom
from bot.errors import UserError
from bot.i18n import N_
from rooms.membership import MembershipService
from rooms.topology import NetworkConfig, RoomSpec

SINGLE_ROOMS = ("space", "partners", "advisory")  # one of each: the kind is the key
# Power levels in the network's rooms: the bot administers them, coordinators moderate.
# Provisioning sets these, and the coordinator check reads them.
BOT_LEVEL = 100
COORDINATOR_LEVEL = 50


class NoNetwork(UserError):
    """The configuration has no network (no Space) to provision or to list."""

    def __init__(self) -> None:
        super().__init__(N_("No network is configured yet: the configuration needs a network "
                            "section with a space and its rooms."))


class NotProvisioned(UserError):
    """The network's rooms are needed before a coordinator has provisioned them."""

    def __init__(self, prefix: str) -> None:
        super().__init__(N_("The network's rooms are not set up yet; a coordinator can run "
                            "%(command)s."), command=f"{prefix}provision")


def room_key(spec: RoomSpec) -> str:
    """The database key of a configured room: space, partners, location:<k>, topic:<k>."""
    return spec.kind if spec.kind in SINGLE_ROOMS else f"{spec.kind}:{spec.key}"


def matrix_to(room_id: str, alias: str | None = None, via: str | None = None) -> str:
    """A matrix.to link: by alias when there is one, else by id with a `via` server."""
    if alias:
        return "https://matrix.to/#/" + quote(alias, safe="@:")
    suffix = f"?via={quote(via)}" if via else ""
    return "https://matrix.to/#/" + quote(room_id, safe="!:") + suffix


@dataclass(frozen=True)
class KnownRoom:
    spec: RoomSpec
    room_id: str
    alias: str | None


class NetworkRooms:
    """Look-ups between configured rooms and their room ids."""

    def __init__(self, session: AsyncSession, network: NetworkConfig) -> None:
        self.session = session
        self.network = network
        self._specs = {room_key(s): s for s in (
            *((network.space,) if network.space else ()), *network.rooms)}

    async def record(self, spec: RoomSpec, room_id: str, alias: str | None,
                     now: datetime) -> None:
        key = room_key(spec)
        row = await self.session.get(NetworkRoom, key)
        if row is None:
            self.session.add(NetworkRoom(key=key, kind=spec.kind, room_id=room_id, alias=alias,
                                         updated_at=now))
        elif (row.room_id, row.alias) != (room_id, alias):
            row.room_id, row.alias, row.updated_at = room_id, alias, now
        await self.session.flush()

    async def room_id(self, spec: RoomSpec) -> str | None:
        row = await self.session.get(NetworkRoom, room_key(spec))
        return row.room_id if row else None

    async def known(self) -> list[KnownRoom]:
        """Configured rooms that have been provisioned, in configuration order."""
        rows = {r.key: r for r in (await self.session.scalars(select(NetworkRoom))).all()}
        out = []
        for key, spec in self._specs.items():
            if key in rows:
                out.append(KnownRoom(spec, rows[key].room_id, rows[key].alias))
        return out

    async def by_room_id(self, room_id: str) -> KnownRoom | None:
        row = await self.session.scalar(select(NetworkRoom).where(NetworkRoom.room_id == room_id))
        if row is None or row.key not in self._specs:
            return None
        return KnownRoom(self._specs[row.key], row.room_id, row.alias)


@dataclass(frozen=True)
class Headcount:
    """How many members one room has, and who they are when that was asked for."""

    room: KnownRoom
    count: int
    present: tuple[str, ...] = ()


class NetworkService:
    """What members ask about the network: its rooms, and who is in them."""

    def __init__(self, session: AsyncSession, network: NetworkConfig,
                 clock: Callable[[], datetime], prefix: str) -> None:
        self.network = network
        self.rooms = NetworkRooms(session, network)
        self.membership = MembershipService(session, clock)
        self.prefix = prefix

    async def provisioned(self) -> list[KnownRoom]:
        """Every provisioned room, the Space first; an error to show when there is none."""
        if not self.network.configured:
            raise NoNetwork()
        known = await self.rooms.known()
        if not known:
            raise NotProvisioned(self.prefix)
        return known

    async def headcounts(self, location: RoomSpec | None = None, *, names: bool = False
                         ) -> list[Headcount]:
        """Each room's members (one location's room only, when given); `names` lists who."""
        rooms = [r for r in await self.provisioned() if r.spec.kind != "space" and (
            location is None or (r.spec.kind == "location" and r.spec.key == location.key))]
        if not rooms:
            raise NotProvisioned(self.prefix)
        counts = await self.membership.counts([r.room_id for r in rooms])
        out = []
        for room in rooms:
            n = counts[room.room_id]
            present = tuple(await self.membership.current(room.room_id)) if names and n else ()
            out.append(Headcount(room, n, present))
        return out
