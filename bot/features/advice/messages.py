"""The words advisory requests are described with: sectors, and request states as their
senders (the status page) and the network's members (notices, commands) read them. How
notices and answers read is `views.py`."""

from __future__ import annotations

from bot.i18n import N_

# (key, label): the key is stored, the label is translated where it is shown.
SECTORS: tuple[tuple[str, str], ...] = (
    ("design", N_("Design")),
    ("media", N_("Media")),
    ("games", N_("Games")),
    ("heritage", N_("Museums and heritage")),
    ("tourism", N_("Tourism")),
    ("crafts", N_("Crafts")),
    ("music", N_("Music")),
    ("business", N_("Business")),
    ("education", N_("Education")),
    ("public", N_("Public administration")),
    ("other", N_("Other")),
)
SECTOR_LABELS = dict(SECTORS)

# What a request's state means to its sender (the status page); unknown states show as
# "new".
REQUEST_STATES = {
    "new": N_("Received — waiting for an advisor"),
    "claimed": N_("An advisor is working on it"),
    "answered": N_("Answered"),
    "closed": N_("Closed"),
}


# A request's state as the network's members read it (the notice, `!advice show`).
STATE_NAMES = {
    "new": N_("new"),
    "claimed": N_("claimed"),
    "answered": N_("answered"),
    "closed": N_("closed"),
}
