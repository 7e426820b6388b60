"""Everything that talks to Matrix through matrix-nio: `MatrixGateway` (client), the
translation of raw events (translate), and end-to-end encryption (e2e, crypto)."""

from bot.gateway.client import MatrixGateway
from bot.gateway.translate import creator_power, power_from_levels, sync_filter, to_room_event

__all__ = ["MatrixGateway", "creator_power", "power_from_levels", "sync_filter", "to_room_event"]
