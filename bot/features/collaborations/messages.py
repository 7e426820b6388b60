"""How collaborations read: the names of their statuses (shown by `!collab`, the digest
and the showcase alike)."""

from __future__ import annotations

from bot.i18n import N_

STATUS_LABELS = {
    "planned": N_("planned"),
    "active": N_("active"),
    "done": N_("done"),
    "dropped": N_("dropped"),
}
