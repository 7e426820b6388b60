"""Answers to advice requests by e-mail: the `mail:` config section, composing a message and
handing it to an SMTP server.

Exactly once, as nearly as SMTP allows. SMTP has no idempotency: a server that accepted a
message cannot be asked whether it did, and the same message sent twice is delivered twice.
So the caller keeps an outbox row per answer and derives the Message-ID from it
(`<advice-answer-12@host>`); it sends, and only then records the row as sent. A crash (or
a lost connection after the final "250 OK") between the server's acceptance and that record
makes the answer go out again, with the same Message-ID (and, if the caller passes the row's
time as `date`, the same Date): mail clients, and many servers and list managers, fold
messages with one Message-ID into one. The window is small, and a rare duplicate is better
than an answer that is lost. `MailError.permanent` tells the caller whether to retry later
(connection problems, timeouts, 4xx replies) or to give up and tell the advisors (5xx
replies, such as an unknown recipient or wrong credentials: sending the same message again
would get the same answer).

Security modes (`mail.security`):
- `starttls` (default, port 587): connect in clear, then STARTTLS before AUTH and MAIL; a
  server that does not offer STARTTLS is an error, never a silent fall-back to clear text.
- `tls` (port 465): TLS from the first byte ("implicit TLS", RFC 8314).
- `none` (port 25): no encryption, for a relay on the same machine or network; with a
  username and password it is refused unless the host is a loopback address.
Certificates are verified against the system's trust store.

The SMTP password may be given as `mail.password` or, when the file gives none, in the
environment as `SBCC_MAIL_PASSWORD`. It is read here rather than through `ENV_SECRETS` in
`bot.config`, so a `parse_config(environ=…)` does not reach it: `parse_mail` takes its own
`environ` (the process environment by default). `MailConfig.secrets()` hands the password to
the log redactor (`Config.secrets()`), and it is left out of every repr.

Personal data stays out of the logs: a message is logged by its Message-ID, never by its
recipient, subject or body, and an address a server echoes in its reply is blanked out.
"""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import logging
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage

import aiosmtplib

from bot.config import is_placeholder
from bot.config_reader import ConfigSection, parse_duration
from rooms.topology import NetworkConfig

log = logging.getLogger(__name__)

SECURITY_MODES = ("none", "starttls", "tls")
DEFAULT_PORTS = {"tls": 465, "starttls": 587, "none": 25}
PASSWORD_ENV = "SBCC_MAIL_PASSWORD"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
# one bare address (as the advice form accepts it): no display name, no list, no comments
ADDRESS_RE = re.compile(
    r"^[^@\s<>()\[\]\\,;:\"]+@[^@\s<>()\[\]\\,;:\"]+\.[^@\s<>()\[\]\\,;:\".]+$")
MESSAGE_ID_RE = re.compile(r"^<[^<>\s@]+@[^<>\s@]+>$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
# anything address-like in a server's reply ("550 5.1.1 <ala@firma.pl>: unknown user")
ECHOED_ADDRESS_RE = re.compile(r"[^\s<>@\"']+@[^\s<>@\"']+")


@dataclass(frozen=True)
class MailConfig:
    """The `mail:` section; `host` None (the default) means no mail is sent."""

    host: str | None = None
    port: int = 587
    sender: str = ""  # the From: "advice@sbcc.eu" or "SBCC Advice <advice@sbcc.eu>"
    security: str = "starttls"  # none | starttls | tls
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30  # seconds, for connecting and for each SMTP command

    @property
    def enabled(self) -> bool:
        return self.host is not None

    def secrets(self) -> list[str]:
        """For `Config.secrets()`: values the log redactor blanks out."""
        return [self.password] if self.password else []


def _is_address(text: str) -> bool:
    return bool(ADDRESS_RE.match(text)) and text.isprintable()


def _sender_ok(sender: str) -> bool:
    """One bare address or "Name <address>", on one line (no list: parseaddr would take
    the first of "a@x.org, b@y.org")."""
    if "\r" in sender or "\n" in sender:
        return False
    header = email.policy.default.header_factory("from", sender)
    addresses = header.addresses
    return (len(addresses) == 1 and not header.defects
            and _is_address(addresses[0].addr_spec))


def _timeout(sec: ConfigSection, default: float) -> float:
    """`timeout: 30` (seconds) or a duration like `30s` or `2m`; at most ten minutes."""
    value = sec.get("timeout")
    if value is None:
        return default
    duration = parse_duration(value) if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = float(value)
    elif duration is not None:
        seconds = duration.delta.total_seconds()
    else:
        sec.fail("timeout", "must be a number of seconds or a duration like 30s or 2m")
        return default
    if not 1 <= seconds <= 600:
        sec.fail("timeout", "must be between 1 second and 10 minutes")
        return default
    return seconds


def parse_mail(sec: ConfigSection, network: NetworkConfig, *,
               environ: Mapping[str, str] | None = None) -> MailConfig:
    """Read the top-level `mail:` section. The password comes from `mail.password`, else
    from `SBCC_MAIL_PASSWORD` in `environ` (the process environment by default)."""
    del network  # the section does not depend on the rooms
    default = MailConfig()
    host = sec.string("host")
    security = (sec.string("security", default.security) or default.security).lower()
    if security not in SECURITY_MODES:
        sec.fail("security", f"must be one of {', '.join(SECURITY_MODES)}")
        security = default.security
    port = sec.integer("port", DEFAULT_PORTS[security], minimum=1, maximum=65535)
    sender = sec.string("sender", "") or ""
    username = sec.string("username")
    password = sec.string("password")
    if password is not None and is_placeholder(password):
        sec.fail("password", "is still the example's placeholder: put the real one here "
                             f"(or in {PASSWORD_ENV} in the environment)")
    if password is None and host is not None:
        from_env = (os.environ if environ is None else environ).get(PASSWORD_ENV, "")
        password = from_env.strip() or None
    timeout = _timeout(sec, default.timeout)
    if host is not None:
        if not re.match(r"^[A-Za-z0-9.\-:]+$", host):
            sec.fail("host", "must be a host name or an IP address, like smtp.example.org")
        if not sender:
            sec.fail("sender", "is required when mail.host is set (the From: address)")
        elif not _sender_ok(sender):
            sec.fail("sender", "must be an e-mail address like advice@example.org, or "
                               "'Name <advice@example.org>'")
        if username and not password:
            sec.fail("password", f"is required with mail.username (or {PASSWORD_ENV} in "
                                 "the environment)")
        if password and not username:
            sec.fail("username", "is required with a password")
        if (security == "none" and username
                and host.lower() not in LOOPBACK_HOSTS):
            sec.fail("security", "'none' would send the password in clear text: use "
                                 "starttls or tls ('none' is for a relay on this machine)")
    # no sec.finish(): parse_config finishes every feature's section once, after its parser
    return MailConfig(host=host, port=port, sender=sender, security=security,
                      username=username, password=password, timeout=timeout)


class MailError(Exception):
    """A message was not sent. `permanent`: the server refused it for good (a 5xx reply,
    e.g. an unknown recipient or wrong credentials), so sending it again would not help;
    otherwise (no connection, a timeout, a 4xx reply) it may go through later. `code` is the
    SMTP reply code, when there was one. The text names no address."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


def _one_line(value: str, what: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"{what} must not contain a line break")
    return value


def compose(*, sender: str, to: str, subject: str, text: str, html: str | None,
            message_id: str, in_reply_to: str | None = None, language: str,
            date: datetime | None = None) -> EmailMessage:
    """One message to one address: plain text, and an HTML alternative when `html` is given
    (multipart/alternative). `message_id` ("<advice-answer-12@host>") is the caller's,
    stable across resends; `date` (aware; now by default) too, if the caller keeps it.

    Raises ValueError for header injection or a malformed value: a `to` that is not one
    bare address, a line break in `sender`, `to`, `message_id` or `in_reply_to`. Line breaks
    and runs of white space in `subject` are folded into single spaces.

    No Auto-Submitted header: answers are written by people (its absence means "no",
    RFC 3834), so auto-responders may answer them like any personal mail."""
    if not _sender_ok(sender):
        raise ValueError("sender must be one e-mail address, optionally with a name")
    _one_line(to, "to")
    to = to.strip()
    if not _is_address(to):
        raise ValueError("to must be one bare e-mail address")
    for name, value in (("message_id", message_id), ("in_reply_to", in_reply_to)):
        if value is not None and not MESSAGE_ID_RE.match(_one_line(value, name)):
            raise ValueError(f"{name} must look like <local@host>")
    if not LANGUAGE_RE.match(language):
        raise ValueError("language must be a language tag like pl or en-GB")
    when = date or datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("date must be timezone-aware")

    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = " ".join(subject.split())
    message["Date"] = email.utils.format_datetime(when)
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    # quoted-printable keeps every line short and 7-bit, whatever the server supports
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8",
                                cte="quoted-printable")
        # a boundary of its own, so that a resend is the same bytes; "=_" never occurs in
        # quoted-printable text, so it cannot collide with a part
        digest = hashlib.sha256("\0".join((message_id, text, html)).encode()).hexdigest()
        message.set_boundary(f"=_sbcc_{digest[:40]}")
    message["Content-Language"] = language  # after the parts: set_content clears Content-*
    return message


def _scrub(text: str) -> str:
    """A server's reply text, one line, without the addresses it may echo."""
    return ECHOED_ADDRESS_RE.sub("[address]", " ".join(str(text).split()))[:300]


def _mail_error(exc: BaseException) -> MailError:
    """What an aiosmtplib (or socket) failure means for retrying."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        first = exc.recipients[0] if exc.recipients else None
        detail = f"{first.code} {_scrub(first.message)}" if first else ""
        return MailError(f"recipient refused: {detail}", permanent=permanent,
                         code=first.code if first else None)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        what = {aiosmtplib.SMTPAuthenticationError: "authentication failed",
                aiosmtplib.SMTPSenderRefused: "sender refused",
                aiosmtplib.SMTPDataError: "message refused",
                aiosmtplib.SMTPHeloError: "greeting refused"}.get(type(exc), "server said")
        permanent = 500 <= exc.code < 600
        return MailError(f"{what}: {exc.code} {_scrub(exc.message)}", permanent=permanent,
                         code=exc.code)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        # e.g. a non-ASCII address and a server without SMTPUTF8: it stays that way
        return MailError(f"not supported by the server: {_scrub(exc.message)}",
                         permanent=True)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return MailError("timed out talking to the mail server", permanent=False)
    if isinstance(exc, aiosmtplib.SMTPException):
        # no connection, a lost one, no STARTTLS or AUTH offered, a certificate that does
        # not verify: the server's state or ours, not this message's fault
        return MailError(f"mail server problem: {_scrub(exc.message)}", permanent=False)
    if isinstance(exc, ssl.SSLError | OSError):
        return MailError(f"mail server problem: {_scrub(str(exc))}", permanent=False)
    # a ValueError: aiosmtplib found an address it cannot send safely
    return MailError(f"cannot be sent: {_scrub(str(exc))}", permanent=True)


class Mailer:
    """Hands composed messages to the configured SMTP server, one connection each."""

    def __init__(self, config: MailConfig, *, tls_context: ssl.SSLContext | None = None
                 ) -> None:
        """`tls_context`: to trust a private CA (tests, an in-house relay); the system's
        trust store otherwise."""
        self.config = config
        self.tls_context = tls_context

    async def send(self, message: EmailMessage) -> None:
        """Send `message` to its To: address; returns once the server has accepted it.
        Raises MailError (see `permanent`)."""
        message_id = str(message.get("Message-ID", "(no Message-ID)"))
        config = self.config
        if config.host is None:
            raise MailError("mail is not configured (mail.host)", permanent=False)
        try:
            errors, _reply = await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",  # False: never upgrade by itself
                username=config.username,
                password=config.password,
                timeout=config.timeout,
                tls_context=self.tls_context,
            )
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            error = _mail_error(exc)
            log.warning("mail %s not sent (%s): %s", message_id,
                        "permanent" if error.permanent else "may be retried", error)
            raise error from None  # the chained exception may name the recipient
        if errors:  # some of several recipients refused: the message went to the others
            log.warning("mail %s accepted, but %d recipient(s) refused", message_id,
                        len(errors))
        log.info("mail %s accepted by %s", message_id, config.host)
