"""The network's rooms the sample uses: those provisioned, else recorded stand-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from rooms.network import NetworkRooms, room_key
from rooms.settings import RoomSettingsService
from rooms.topology import NetworkConfig


async def sample_rooms(session: AsyncSession, network: NetworkConfig, now: datetime,
                       server: str) -> dict[str, str]:
    """The network's rooms by key: those provisioned, else stand-ins recorded now."""
    known = await NetworkRooms(session, network).known()
    if known:
        return {room_key(r.spec): r.room_id for r in known}
    rooms = NetworkRooms(session, network)
    settings = RoomSettingsService(session)
    out = {}
    for spec in (network.space, *network.rooms):
        if spec is None:
            continue
        key = room_key(spec)
        room_id = f"!sample-{key.replace(':', '-')}:{server}"
        await rooms.record(spec, room_id, None, now)
        if spec.language or spec.timezone:
            await settings.set(room_id, language=spec.language, timezone=spec.timezone)
        out[key] = room_id
    await session.flush()
    return out
