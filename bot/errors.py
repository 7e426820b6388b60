"""Exceptions that carry a translatable message to the user.

A handler raises one of these; the dispatcher turns it into a translated reply with the
command's usage line. Any other exception is a bug: it is logged with the event id and the
user only hears a generic, translated "something went wrong (reference …)".
"""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """An error the user caused and can fix; `msgid` is an untranslated message id."""

    show_usage = False

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


class UsageError(UserError):
    """The command was called with the wrong shape of arguments."""

    show_usage = True


class BadArgument(UsageError):
    """One argument could not be converted or is out of range."""


class NotAllowed(UserError):
    """The sender may not use this command here."""


class CommandNotFound(UserError):
    """No command of that name; `params` carries the closest suggestion, if any."""


class ConfigError(Exception):
    """The configuration is invalid; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class GatewayError(Exception):
    """The homeserver refused a request (a 4xx answer that retrying will not fix)."""

    def __init__(self, message: str, errcode: str | None = None, status: int | None = None):
        super().__init__(message)
        self.errcode = errcode
        self.status = status


class HomeserverUnavailable(GatewayError):
    """The homeserver could not be reached or answered 5xx; worth retrying later."""
