"""Answers by e-mail: a real SMTP server (aiosmtpd) on a loopback port receives what the
Mailer sends; the `mail:` section through the real config parsing; header injection."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.config import Config, SectionSpec, parse_config
from bot.errors import ConfigError
from bot.features.advice.mail import (
    MailConfig,
    Mailer,
    MailError,
    compose,
    parse_mail,
)
from tests.conftest import base_config

TEXT = "Dzień dobry! Zażółć gęślą jaźń. Labas, ąčęėįšųūž — ačiū."
HTML = "<p>Dzień dobry! <b>Zażółć gęślą jaźń.</b> Labas, ąčęėįšųūž — ačiū.</p>"
PASSWORD = "s3cret-smtp-Pa55"
RECIPIENT = "ala.kowalska@firma-example.pl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: bytes | None


class Recorder:
    """An aiosmtpd handler keeping what it accepted; `rcpt_reply` / `data_reply` answer
    RCPT / DATA with that instead (e.g. "550 <…>: no such user")."""

    def __init__(self, rcpt_reply: str | None = None, data_reply: str | None = None) -> None:
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.received: list[Received] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        raw = envelope.original_content or envelope.content
        # headers may be raw UTF-8 (SMTPUTF8); the parts are quoted-printable
        message = email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message,
                                      session.ssl is not None, login))
        return "250 Message accepted for delivery"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"advice"
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


StartServer = Callable[..., tuple[Recorder, int]]


@pytest.fixture
def smtp_server() -> Iterator[StartServer]:
    """Starts aiosmtpd controllers on free loopback ports; stops them afterwards."""
    controllers: list[Controller] = []

    def start(handler: Recorder | None = None, **kwargs: Any) -> tuple[Recorder, int]:
        handler = handler or Recorder()
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return handler, port

    yield start
    for controller in controllers:
        controller.stop()


@dataclass
class Certs:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> Any:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (x509.CertificateBuilder().subject_name(name("test CA")).issuer_name(name("test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(ca_ski, critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(name("test CA"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder: Path = tmp_path_factory.mktemp("certs")
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (folder / "key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client = ssl.create_default_context(cafile=str(folder / "ca.pem"))
    return Certs(server, client)


def answer(**overrides: Any) -> EmailMessage:
    fields: dict[str, Any] = dict(
        sender="Sieć SBCC <advice@sbcc.example>", to=RECIPIENT,
        subject="Odpowiedź: Jak znaleźć partnera? / Atsakymas į klausimą",
        text=TEXT, html=HTML, message_id="<advice-answer-12@sbcc.example>",
        in_reply_to="<advice-request-7@sbcc.example>", language="pl")
    fields.update(overrides)
    return compose(**fields)


def plain(port: int, **overrides: Any) -> MailConfig:
    fields: dict[str, Any] = dict(host="127.0.0.1", port=port, sender="advice@sbcc.example",
                                  security="none", timeout=5)
    fields.update(overrides)
    return MailConfig(**fields)


async def failure(config: MailConfig, message: EmailMessage | None = None, *,
                  tls_context: ssl.SSLContext | None = None) -> MailError:
    with pytest.raises(MailError) as err:
        await Mailer(config, tls_context=tls_context).send(message or answer())
    return err.value


# --- delivery ----------------------------------------------------------------------------

async def test_message_is_delivered_with_headers_and_both_parts(
        smtp_server: StartServer) -> None:
    handler, port = smtp_server()
    await Mailer(plain(port)).send(answer())
    [got] = handler.received
    assert got.mail_from == "advice@sbcc.example"
    assert got.rcpt_tos == [RECIPIENT]
    msg = got.message
    assert msg["From"].addresses[0].addr_spec == "advice@sbcc.example"
    assert msg["From"].addresses[0].display_name == "Sieć SBCC"
    assert str(msg["To"]) == RECIPIENT
    assert str(msg["Subject"]) == "Odpowiedź: Jak znaleźć partnera? / Atsakymas į klausimą"
    assert msg["Message-ID"] == "<advice-answer-12@sbcc.example>"
    assert msg["In-Reply-To"] == "<advice-request-7@sbcc.example>"
    assert msg["References"] == "<advice-request-7@sbcc.example>"
    assert msg["Content-Language"] == "pl"
    assert msg["Date"].datetime is not None
    assert msg["Auto-Submitted"] is None  # written by a person
    assert msg.get_content_type() == "multipart/alternative"
    text_part = msg.get_body(("plain",))
    html_part = msg.get_body(("html",))
    assert text_part is not None and html_part is not None
    assert text_part.get_content().strip() == TEXT
    assert html_part.get_content().strip() == HTML
    assert not got.tls and got.login is None


async def test_text_only_message_is_not_multipart(smtp_server: StartServer) -> None:
    handler, port = smtp_server()
    await Mailer(plain(port)).send(answer(html=None, in_reply_to=None, language="lt"))
    [got] = handler.received
    assert got.message.get_content_type() == "text/plain"
    assert got.message.get_content().strip() == TEXT
    assert got.message["Content-Language"] == "lt"
    assert got.message["In-Reply-To"] is None


async def test_non_ascii_address_goes_with_smtputf8_or_not_at_all(
        smtp_server: StartServer) -> None:
    to = "józef.žukauskas@firma-example.pl"
    handler, port = smtp_server()  # the Controller offers SMTPUTF8
    await Mailer(plain(port)).send(answer(to=to))
    [got] = handler.received
    assert got.rcpt_tos == [to]
    assert got.message["To"].addresses[0].addr_spec == to
    _handler, port = smtp_server(enable_SMTPUTF8=False)
    error = await failure(plain(port), answer(to=to))
    assert error.permanent  # that server will never take it
    assert "józef" not in str(error)


async def test_auth_right_password_delivers_wrong_one_is_permanent(
        smtp_server: StartServer) -> None:
    handler, port = smtp_server(authenticator=authenticator, auth_require_tls=False)
    await Mailer(plain(port, username="advice", password=PASSWORD)).send(answer())
    [got] = handler.received
    assert got.login == b"advice"

    error = await failure(plain(port, username="advice", password="wrong-password"))
    assert error.permanent and error.code == 535
    assert "wrong-password" not in str(error)
    assert len(handler.received) == 1


async def test_unknown_recipient_is_permanent_and_the_address_is_not_repeated(
        smtp_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    _handler, port = smtp_server(Recorder(rcpt_reply=f"550 5.1.1 <{RECIPIENT}>: no such user"))
    with caplog.at_level(logging.DEBUG, logger="bot"):
        error = await failure(plain(port))
    assert error.permanent and error.code == 550
    assert "no such user" in str(error)
    assert RECIPIENT not in str(error) and "firma-example" not in str(error)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert "<advice-answer-12@sbcc.example>" in ours
    assert RECIPIENT not in ours and "firma-example" not in ours


async def test_message_refused_with_550_is_permanent(smtp_server: StartServer) -> None:
    _handler, port = smtp_server(Recorder(data_reply="550 no such user"))
    error = await failure(plain(port))
    assert error.permanent and error.code == 550


async def test_451_is_temporary(smtp_server: StartServer) -> None:
    _handler, port = smtp_server(Recorder(data_reply="451 4.3.0 try again later"))
    error = await failure(plain(port))
    assert not error.permanent and error.code == 451
    _handler, port = smtp_server(Recorder(rcpt_reply="450 4.2.0 mailbox busy"))
    assert not (await failure(plain(port))).permanent


async def test_connection_refused_is_temporary() -> None:
    port = free_port()  # nothing listens there any more
    error = await failure(plain(port))
    assert not error.permanent and error.code is None


async def test_a_server_that_never_greets_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        error = await failure(plain(silent.getsockname()[1], timeout=0.3))
    assert not error.permanent


async def test_not_configured_is_an_error() -> None:
    error = await failure(MailConfig())
    assert not error.permanent


async def test_password_never_reaches_the_logs(smtp_server: StartServer,
                                               caplog: pytest.LogCaptureFixture) -> None:
    handler, port = smtp_server(authenticator=authenticator, auth_require_tls=False)
    config = plain(port, username="advice", password=PASSWORD)
    with caplog.at_level(logging.DEBUG):
        await Mailer(config).send(answer())
        await failure(plain(port, username="advice", password=PASSWORD + "x"))
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in logged
    assert PASSWORD not in repr(config) and PASSWORD not in repr(Mailer(config).config)
    assert config.secrets() == [PASSWORD]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert "<advice-answer-12@sbcc.example>" in ours and RECIPIENT not in ours
    assert "Zażółć" not in ours  # nor the body
    assert len(handler.received) == 1


# --- TLS -----------------------------------------------------------------------------------

async def test_starttls_upgrades_before_auth(smtp_server: StartServer, certs: Certs) -> None:
    handler, port = smtp_server(authenticator=authenticator, tls_context=certs.server,
                                require_starttls=True)  # AUTH only after STARTTLS
    config = plain(port, security="starttls", username="advice", password=PASSWORD)
    await Mailer(config, tls_context=certs.client).send(answer())
    [got] = handler.received
    assert got.tls and got.login == b"advice"


async def test_starttls_never_falls_back_to_clear_text(smtp_server: StartServer,
                                                       certs: Certs) -> None:
    handler, port = smtp_server()  # offers no STARTTLS
    error = await failure(plain(port, security="starttls"), tls_context=certs.client)
    assert not error.permanent
    assert handler.received == []


async def test_starttls_checks_the_certificate(smtp_server: StartServer, certs: Certs) -> None:
    handler, port = smtp_server(tls_context=certs.server)
    error = await failure(plain(port, security="starttls"))  # the system's trust store
    assert not error.permanent
    assert handler.received == []


async def test_implicit_tls(smtp_server: StartServer, certs: Certs) -> None:
    handler, port = smtp_server(ssl_context=certs.server)
    await Mailer(plain(port, security="tls"), tls_context=certs.client).send(answer())
    [got] = handler.received
    assert got.message["Message-ID"] == "<advice-answer-12@sbcc.example>"


# --- compose -------------------------------------------------------------------------------

@pytest.mark.parametrize("to", [
    "ala@firma.pl\r\nBcc: victim@example.org", "ala@firma.pl\nBcc: x@y.org",
    "ala@firma.pl, ola@firma.pl", "Ala <ala@firma.pl>", "ala@firma.pl;ola@firma.pl",
    "not an address", "", "ala@firma.pl\x00",
])
def test_compose_refuses_what_is_not_one_address(to: str) -> None:
    with pytest.raises(ValueError):
        answer(to=to)


def test_compose_folds_line_breaks_out_of_the_subject() -> None:
    msg = answer(subject="Pytanie\r\nBcc: victim@example.org\n\tciąg dalszy")
    assert msg["Subject"] == "Pytanie Bcc: victim@example.org ciąg dalszy"
    assert msg["Bcc"] is None
    assert "\nBcc:" not in msg.as_string()


@pytest.mark.parametrize("overrides", [
    {"message_id": "<a@b>\r\nBcc: x@y.org"}, {"message_id": "advice-answer-12"},
    {"in_reply_to": "<r@b>\nX: y"}, {"sender": "advice@sbcc.example\r\nBcc: x@y.org"},
    {"sender": "nobody"}, {"sender": "advice@sbcc.example, other@example.org"},
    {"sender": "<advice@sbcc.example> other@example.org"},
    {"language": "pl\r\nX: y"},
    {"date": dt.datetime(2026, 1, 1, 12, 0)},  # naive
])
def test_compose_refuses_header_injection_elsewhere(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        answer(**overrides)


def test_compose_keeps_a_given_date_for_a_resend() -> None:
    when = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    first, again = answer(date=when), answer(date=when)
    assert first["Date"] == again["Date"] and first["Date"].datetime == when
    assert first.as_bytes() == again.as_bytes()


# --- the `mail:` section ----------------------------------------------------------------------

def load(mail: object, environ: Mapping[str, str] | None = None) -> Config:
    def parse(sec: Any, network: Any) -> MailConfig:
        return parse_mail(sec, network, environ=environ or {})

    raw = base_config() if mail is None else base_config(mail=mail)
    return parse_config(raw, environ={}, sections=[SectionSpec("mail", parse)])


def problems(mail: object, environ: Mapping[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(mail, environ)
    return err.value.problems


def test_no_section_means_no_mail() -> None:
    config = load(None).section(MailConfig)
    assert not config.enabled and config.host is None
    assert not Config.section(load(None), MailConfig).enabled


def test_defaults_and_default_ports() -> None:
    config = load({"host": "smtp.example.org", "sender": "advice@example.org"}
                  ).section(MailConfig)
    assert config.enabled
    assert (config.port, config.security, config.timeout) == (587, "starttls", 30)
    assert config.username is None and config.password is None
    for security, port in (("tls", 465), ("starttls", 587), ("none", 25)):
        got = load({"host": "smtp.example.org", "sender": "advice@example.org",
                    "security": security}).section(MailConfig)
        assert got.port == port
    got = load({"host": "smtp.example.org", "sender": "SBCC <advice@example.org>",
                "security": "TLS", "port": 2465, "timeout": "2m"}).section(MailConfig)
    assert (got.port, got.security, got.timeout, got.sender) == (
        2465, "tls", 120, "SBCC <advice@example.org>")
    assert load({"host": "h.example.org", "sender": "a@example.org", "timeout": 10}
                ).section(MailConfig).timeout == 10


def test_bad_values_are_reported_with_their_keys() -> None:
    found = problems({"host": "smtp.example.org", "sender": "advice@example.org",
                      "security": "ssl", "port": 70000, "timeout": "forever"})
    assert any(p.startswith("mail.security: must be one of none, starttls, tls")
               for p in found), found
    assert any(p.startswith("mail.port: must be a whole number of at least 1 and at most "
                            "65535") for p in found), found
    assert any(p.startswith("mail.timeout:") for p in found), found
    assert problems({"host": "smtp.example.org", "sender": "advice@example.org", "port": 0})
    [typo] = problems({"host": "smtp.example.org", "sender": "a@example.org", "pasword": "x"})
    assert typo.startswith("mail.pasword: unknown key (did you mean 'password'?)")


def test_sender_is_required_and_must_be_an_address() -> None:
    [missing] = problems({"host": "smtp.example.org"})
    assert missing.startswith("mail.sender: is required")
    [bad] = problems({"host": "smtp.example.org", "sender": "advice"})
    assert bad.startswith("mail.sender: must be an e-mail address")
    [two] = problems({"host": "smtp.example.org", "sender": "a@example.org, b@example.org"})
    assert two.startswith("mail.sender: must be an e-mail address")
    assert load({"sender": "advice"}).section(MailConfig).enabled is False  # no host: unused


def test_username_and_password_go_together() -> None:
    base = {"host": "smtp.example.org", "sender": "advice@example.org"}
    [no_password] = problems({**base, "username": "advice"})
    assert no_password.startswith("mail.password: is required with mail.username")
    [no_user] = problems({**base, "password": PASSWORD})
    assert no_user.startswith("mail.username: is required")
    [placeholder] = problems({**base, "username": "advice", "password": "replace-me"})
    assert "placeholder" in placeholder


def test_password_in_clear_text_is_refused_except_on_loopback() -> None:
    creds = {"sender": "advice@example.org", "security": "none", "username": "advice",
             "password": PASSWORD}
    [clear] = problems({"host": "smtp.example.org", **creds})
    assert clear.startswith("mail.security: 'none' would send the password in clear text")
    assert load({"host": "127.0.0.1", **creds}).section(MailConfig).password == PASSWORD


def test_password_from_environment_and_never_in_repr() -> None:
    section = {"host": "smtp.example.org", "sender": "advice@example.org",
               "username": "advice"}
    config = load(section, environ={"SBCC_MAIL_PASSWORD": PASSWORD})
    mail = config.section(MailConfig)
    assert mail.password == PASSWORD
    assert PASSWORD not in repr(mail) and PASSWORD not in repr(config)
    assert PASSWORD in config.secrets()
    # the file's password wins over the environment's
    from_file = load({**section, "password": "from-the-file-123"},
                     environ={"SBCC_MAIL_PASSWORD": PASSWORD}).section(MailConfig)
    assert from_file.password == "from-the-file-123"


def test_password_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SBCC_MAIL_PASSWORD", PASSWORD)
    config = parse_config(base_config(mail={"host": "smtp.example.org",
                                            "sender": "advice@example.org",
                                            "username": "advice"}),
                          environ={}, sections=[SectionSpec("mail", parse_mail)])
    assert config.section(MailConfig).password == PASSWORD
