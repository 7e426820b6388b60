"""The small command framework: declaring commands and subcommand groups, converting their
arguments, checking who may use them, and the registry the App fills from `commands/`.

    from bot.framework import Rest, check, command, coordinator
"""

from bot.framework.checks import coordinator, is_coordinator, is_member, member
from bot.framework.command import (
    Check,
    Command,
    Flag,
    Group,
    Invocation,
    Range,
    Rest,
    check,
    command,
    group,
    subcommands,
)
from bot.framework.converters import (
    LanguageCode,
    Location,
    OnOff,
    Place,
    Ref,
    Shown,
    Switch,
    UserId,
)
from bot.framework.registry import Registry

__all__ = [
    "Check",
    "Command",
    "Flag",
    "Group",
    "Invocation",
    "LanguageCode",
    "Location",
    "OnOff",
    "Place",
    "Range",
    "Ref",
    "Registry",
    "Rest",
    "Shown",
    "Switch",
    "UserId",
    "check",
    "command",
    "coordinator",
    "group",
    "is_coordinator",
    "is_member",
    "member",
    "subcommands",
]
