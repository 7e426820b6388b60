"""Provisioning: create or adopt the Space and its rooms and bring their state in line with
the configuration — idempotently: a second run sends no state event at all. The membership
record of each room is brought in line too (without welcoming anyone), and again at start.

Which existing rooms are adopted: the one recorded for that place (the bot provisioned it
before), one the configuration names itself (`room:`), or one that holds the configured
alias and that the bot created (its `m.room.create` is the bot's). Anyone can create
`#sbcc-design:server` first and give the bot power 100 there: adopting such a room would
make its creator a coordinator of the network, so it fails, naming the alias."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.deps import Deps
from bot.errors import GatewayError, HomeserverUnavailable
from rooms.membership import MembershipService
from rooms.network import BOT_LEVEL, COORDINATOR_LEVEL, NetworkRooms, NoNetwork, room_key
from rooms.settings import RoomSettingsService
from rooms.topology import RoomSpec

log = logging.getLogger(__name__)
State = dict[tuple[str, str], dict[str, Any]]  # (type, state_key) → the event


class ForeignRoom(GatewayError):
    """A configured alias is held by a room the bot did not create: it is not adopted."""

    def __init__(self, alias: str, room_id: str) -> None:
        super().__init__(f"the alias {alias} belongs to a room the bot did not create "
                         f"({room_id}); it is not adopted: name it as room: in the "
                         f"configuration to adopt it, or free the alias", "SBCC_FOREIGN_ROOM")
        self.alias = alias
        self.room_id = room_id


@dataclass
class Outcome:
    """What provisioning did to one room."""

    spec: RoomSpec
    room_id: str | None = None
    action: str = "unchanged"  # created | adopted | unchanged | updated | failed
    changes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.action == "failed"

    def line(self) -> str:
        """One progress line (English, for the terminal and the log)."""
        where = self.room_id or "-"
        detail = f" ({', '.join(self.changes)})" if self.changes else ""
        if self.error:
            detail += f" — {self.error}"
        return f"{self.spec.kind:<9} {self.spec.key:<12} {where}  {self.action}{detail}"


def default_topic(spec: RoomSpec, network_name: str) -> str:
    if spec.topic:
        return spec.topic
    if spec.kind == "location":
        return f"{spec.name} ({spec.country}) · {network_name}"
    if spec.kind == "partners":
        return f"Partner organisations of {network_name}"
    if spec.kind == "advisory":
        return f"Advisory requests to {network_name}"
    return f"{spec.name} · {network_name}"


def merged_power_levels(current: dict[str, Any], bot: str, coordinators: tuple[str, ...],
                        creators: set[str]) -> dict[str, Any]:
    """Power levels with the bot at 100 and coordinators at least at 50; nobody lowered,
    creators (room version 12) never listed."""
    users = dict(current.get("users") or {})
    wanted = {bot: BOT_LEVEL, **{c: COORDINATOR_LEVEL for c in coordinators if c != bot}}
    for user, level in wanted.items():
        if user in creators:
            continue
        if users.get(user, -math.inf) < level:
            users[user] = level
    return {**current, "users": users}


def _index(state: list[dict[str, Any]]) -> State:
    return {(ev.get("type", ""), ev.get("state_key", "")): ev for ev in state}


def _creators(state: State) -> set[str]:
    create = state.get(("m.room.create", ""))
    if not create:
        return set()
    content = create.get("content") or {}
    if str(content.get("room_version")) not in ("12", "org.matrix.hydra.11"):
        return set()
    return {create.get("sender", ""), *(content.get("additional_creators") or [])}


class Provisioner:
    """Provisions the configured network (`run`, for `!provision` and `sbcc-bot provision`)
    and re-imports who is in its rooms (`import_all`, at start)."""

    def __init__(self, deps: Deps,
                 progress: Callable[[Outcome], Awaitable[None]] | None = None) -> None:
        self.deps = deps
        self.gateway = deps.gateway
        self.network = deps.config.network
        self.server = deps.config.matrix.server_name
        self.progress = progress

    async def run(self) -> list[Outcome]:
        space = self.network.space
        if space is None:
            raise NoNetwork()
        outcomes = [await self._room(space, None, 0)]
        await self._report(outcomes[0])
        space_id = outcomes[0].room_id
        if space_id is None:
            return outcomes  # the rooms hang off the Space: nothing more to do without it
        for order, spec in enumerate(self.network.rooms, start=1):
            outcome = await self._room(spec, space_id, order)
            outcomes.append(outcome)
            await self._report(outcome)
        return outcomes

    async def _report(self, outcome: Outcome) -> None:
        log.info("provision: %s", outcome.line())
        if self.progress is not None:
            await self.progress(outcome)

    # -- one room ------------------------------------------------------------------------

    async def _room(self, spec: RoomSpec, space_id: str | None, order: int) -> Outcome:
        outcome = Outcome(spec)
        try:
            room_id = await self._find_or_create(spec, space_id, outcome)
            outcome.room_id = room_id
            async with self.deps.db.session() as session:
                alias = f"#{spec.alias}:{self.server}" if spec.alias else spec.room
                await NetworkRooms(session, self.network).record(spec, room_id, alias,
                                                                 self.deps.clock())
                if spec.language or spec.timezone:
                    await RoomSettingsService(session).set(
                        room_id, language=spec.language, timezone=spec.timezone)
            await self._reconcile(spec, room_id, space_id, outcome)
            if space_id is not None:
                await self._link_child(space_id, spec, room_id, order, outcome)
            await self.import_members(room_id)
        except GatewayError as exc:
            outcome.action, outcome.error = "failed", str(exc)
            log.warning("provisioning %s failed: %s", room_key(spec), exc)
        if outcome.changes and outcome.action == "unchanged":
            outcome.action = "updated"
        return outcome

    async def _find_or_create(self, spec: RoomSpec, space_id: str | None,
                              outcome: Outcome) -> str:
        async with self.deps.db.session() as session:
            known = await NetworkRooms(session, self.network).room_id(spec)
        if known is not None:
            try:
                await self.gateway.join(known)  # a no-op when joined; back in if we were not
                return known
            except GatewayError as exc:
                log.warning("recorded room %s of %s is gone (%s); looking again", known,
                            room_key(spec), exc)
        if spec.room:
            target = spec.room
            room_id = await self.gateway.resolve_alias(target) if target.startswith("#") else (
                target)
            if room_id is None:
                raise GatewayError(f"no room has the alias {target}", "M_NOT_FOUND")
            await self.gateway.join(target)
            outcome.action = "adopted"
            return room_id
        alias = f"#{spec.alias}:{self.server}"
        existing = await self.gateway.resolve_alias(alias)
        if existing is not None:
            await self._adopt_own(alias, existing)
            outcome.action = "adopted"
            return existing
        room_id = await self.gateway.create_room(
            name=spec.name, topic=default_topic(spec, self.network.name), alias=spec.alias,
            space=spec.kind == "space",
            initial_state=self._initial_state(spec, space_id),
        )
        outcome.action = "created"
        return room_id

    async def _adopt_own(self, alias: str, room_id: str) -> None:
        """Join the room that holds our alias if the bot created it; otherwise leave it as
        it was (the bot leaves again if it joined only to look) and fail."""
        joined = False
        try:
            state = _index(await self.gateway.room_state(room_id))
        except HomeserverUnavailable:
            raise
        except GatewayError:  # not readable from outside: join to look
            try:
                await self.gateway.join(room_id)
            except HomeserverUnavailable:
                raise
            except GatewayError as exc:
                raise GatewayError(f"the alias {alias} belongs to {room_id}, which the bot "
                                   f"cannot join: {exc}", exc.errcode, exc.status) from exc
            joined = True
            state = _index(await self.gateway.room_state(room_id))
        create = state.get(("m.room.create", "")) or {}
        if create.get("sender") != self.gateway.user_id:
            if joined:
                try:
                    await self.gateway.leave(room_id)
                except GatewayError as exc:
                    log.warning("could not leave %s again: %s", room_id, exc)
            log.warning("not adopting %s: %s holds it, created by %s", alias, room_id,
                        create.get("sender", "someone else"))
            raise ForeignRoom(alias, room_id)
        if not joined:
            await self.gateway.join(room_id)  # a no-op when the bot is in it

    def _join_rule(self, spec: RoomSpec, space_id: str | None) -> dict[str, Any]:
        if spec.kind == "space":
            return {"join_rule": "public"}
        if spec.kind in ("partners", "advisory") or space_id is None:
            return {"join_rule": "invite"}
        return {"join_rule": "restricted",
                "allow": [{"type": "m.room_membership", "room_id": space_id}]}

    def _desired(self, spec: RoomSpec, space_id: str | None
                 ) -> list[tuple[str, str, dict[str, Any]]]:
        """(type, state_key, content) the room should have."""
        desired: list[tuple[str, str, dict[str, Any]]] = [
            ("m.room.name", "", {"name": spec.name}),
            ("m.room.topic", "", {"topic": default_topic(spec, self.network.name)}),
            ("m.room.join_rules", "", self._join_rule(spec, space_id)),
            ("m.room.guest_access", "", {"guest_access": "forbidden"}),
        ]
        if spec.alias:
            desired.append(("m.room.canonical_alias", "",
                            {"alias": f"#{spec.alias}:{self.server}"}))
        if space_id is not None:
            desired.append(("m.space.parent", space_id,
                            {"via": [self.server], "canonical": True}))
        return desired

    def _initial_state(self, spec: RoomSpec, space_id: str | None) -> list[dict[str, Any]]:
        skip = {"m.room.name", "m.room.topic", "m.room.canonical_alias"}  # createRoom sets
        return [{"type": t, "state_key": k, "content": c}
                for t, k, c in self._desired(spec, space_id) if t not in skip]

    async def _reconcile(self, spec: RoomSpec, room_id: str, space_id: str | None,
                         outcome: Outcome) -> None:
        state = _index(await self.gateway.room_state(room_id))
        adopted_foreign = spec.room is not None
        for etype, key, content in self._desired(spec, space_id):
            if adopted_foreign and etype in ("m.room.name", "m.room.topic"):
                continue  # someone else's room keeps its own name and topic
            current = (state.get((etype, key)) or {}).get("content") or {}
            if all(current.get(k) == v for k, v in content.items()):
                continue  # (servers may add fields of their own, like m.topic)
            await self._put(room_id, etype, content, key, outcome)
        levels = (state.get(("m.room.power_levels", "")) or {}).get("content") or {}
        wanted = merged_power_levels(levels, self.gateway.user_id,
                                     self.deps.config.coordinators, _creators(state))
        if wanted != levels:
            await self._put(room_id, "m.room.power_levels", wanted, "", outcome)
        if spec.kind in ("space", "partners", "advisory"):
            await self._invite_coordinators(room_id, state, outcome)

    async def _put(self, room_id: str, etype: str, content: dict[str, Any], key: str,
                   outcome: Outcome) -> None:
        try:
            await self.gateway.put_state(room_id, etype, content, key)
            outcome.changes.append(etype.removeprefix("m.room.").removeprefix("m."))
        except GatewayError as exc:
            if exc.errcode != "M_FORBIDDEN":
                raise
            outcome.error = f"no permission to set {etype}"

    async def _invite_coordinators(self, room_id: str, state: State, outcome: Outcome
                                   ) -> None:
        for coordinator in self.deps.config.coordinators:
            member = (state.get(("m.room.member", coordinator)) or {}).get("content") or {}
            if member.get("membership") in ("join", "invite", "ban"):
                continue
            try:
                await self.gateway.invite(room_id, coordinator)
                outcome.changes.append(f"invited {coordinator}")
            except GatewayError as exc:
                log.warning("could not invite %s to %s: %s", coordinator, room_id, exc)

    async def _link_child(self, space_id: str, spec: RoomSpec, room_id: str, order: int,
                          outcome: Outcome) -> None:
        via = [self.server]
        if spec.room and ":" in spec.room:
            foreign = spec.room.split(":", 1)[1]
            via = [foreign, self.server] if foreign != self.server else via
        content = {"via": via, "order": f"{order:03d}"}
        state = _index(await self.gateway.room_state(space_id))
        current = (state.get(("m.space.child", room_id)) or {}).get("content") or {}
        if any(current.get(k) != v for k, v in content.items()):
            await self.gateway.put_state(space_id, "m.space.child", content, room_id)
            outcome.changes.append("space.child")

    async def import_members(self, room_id: str) -> None:
        joined = await self.gateway.joined_members(room_id)
        async with self.deps.db.session() as session:
            await MembershipService(session, self.deps.clock).import_room(
                room_id, set(joined), exclude=self.gateway.user_id)

    async def import_all(self) -> None:
        """At start: bring the membership record up to date for every provisioned room."""
        async with self.deps.db.session() as session:
            known = await NetworkRooms(session, self.network).known()
        for room in known:
            try:
                await self.import_members(room.room_id)
            except GatewayError as exc:
                log.warning("could not import the members of %s: %s", room.room_id, exc)
