"""Notifiers against real servers on 127.0.0.1: the exact bodies and messages, retries, timeouts, redaction."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import logging
import socket
import ssl
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from flowtui.alerts import AlertEvaluator, Dispatcher, Firing
from flowtui.alerts.notifiers import (
    CommandNotifier,
    DeliveryError,
    EmailNotifier,
    SlackNotifier,
    WebhookNotifier,
    redact_url,
)
from flowtui.store import Store
from tests.alerts_helpers import T0, flow, http_server, rule, write

FIRING = Firing(
    rule="port-scan",
    group={"src_addr": "203.0.113.9"},
    value=37,
    window_start=T0,
    window_end=T0 + 60,
    fired_at=T0 + 75.5,
    flow_ids=[3, 4, 9],
    condition="distinct(dst_port) > 20",
    query="action:REJECT",
    flows=40,
    bytes=3520,
    packets=41,
    id=7,
)
SUMMARY = (
    "port-scan: distinct(dst_port) = 37 (distinct(dst_port) > 20) for src_addr=203.0.113.9,"
    " 2026-11-27 10:00:00–10:01:00 UTC, 40 flows"
)


def test_the_firing_as_json() -> None:
    assert FIRING.to_json() == {
        "id": 7,
        "rule": "port-scan",
        "group": {"src_addr": "203.0.113.9"},
        "condition": "distinct(dst_port) > 20",
        "value": 37,
        "query": "action:REJECT",
        "window_start": T0,
        "window_end": T0 + 60,
        "window_start_iso": "2026-11-27T10:00:00Z",
        "window_end_iso": "2026-11-27T10:01:00Z",
        "fired_at": T0 + 75.5,
        "flows": 40,
        "bytes": 3520,
        "packets": 41,
        "flow_ids": [3, 4, 9],
        "summary": SUMMARY,
    }


# --- HTTP ----------------------------------------------------------------------------------------------


def test_slack_gets_a_text_message() -> None:
    with http_server() as srv:
        SlackNotifier("chat", f"{srv.url}/services/T0/B0/secret", timeout=2).send(FIRING)
        (req,) = srv.requests
    assert req["path"] == "/services/T0/B0/secret"
    assert req["headers"]["Content-Type"] == "application/json"
    assert json.loads(req["body"]) == {
        "text": ":rotating_light: *flowtui alert* port-scan: distinct(dst_port) = 37 (distinct(dst_port) &gt; 20)"
        " for src_addr=203.0.113.9, 2026-11-27 10:00:00–10:01:00 UTC, 40 flows · flowtui alerts show 7"
    }


def test_a_webhook_gets_the_firing_as_json_with_its_headers() -> None:
    with http_server() as srv:
        WebhookNotifier("siem", f"{srv.url}/in", {"Authorization": "Bearer abc"}, timeout=2).send(FIRING)
        (req,) = srv.requests
    assert (req["path"], req["headers"]["Authorization"]) == ("/in", "Bearer abc")
    assert json.loads(req["body"]) == FIRING.to_json()


def test_http_errors_client_errors_are_permanent_server_errors_are_not() -> None:
    with http_server() as srv:
        srv.statuses = [404, 503]
        hook = WebhookNotifier("siem", f"{srv.url}/in", timeout=2)
        with pytest.raises(DeliveryError) as first:
            hook.send(FIRING)
        with pytest.raises(DeliveryError) as second:
            hook.send(FIRING)
    assert (str(first.value), first.value.permanent) == ("HTTP 404 Not Found", True)
    assert (str(second.value), second.value.permanent) == ("HTTP 503 Service Unavailable", False)


# --- e-mail ----------------------------------------------------------------------------------------------


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": envelope.content,
                "tls": session.ssl is not None,
                "login": session.auth_data,
                "authenticated": session.authenticated,
            }
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made here."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Controller, _Mailbox]]:
    """An SMTP server that offers STARTTLS and AUTH (only over TLS), accepting user alerts / pw s3cret."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(certificate[0]), str(certificate[1]))

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"alerts", b"s3cret")
        return AuthResult(success=ok, handled=False, auth_data=data.login.decode() if ok else None)

    box = _Mailbox()
    ctl = Controller(box, hostname="127.0.0.1", port=_free_port(), tls_context=ctx, authenticator=authenticator,
                     auth_require_tls=True)
    ctl.start()
    try:
        yield ctl, box
    finally:
        ctl.stop()


@pytest.fixture
def plain_smtp_server() -> Iterator[tuple[Controller, _Mailbox]]:
    box = _Mailbox()
    ctl = Controller(box, hostname="127.0.0.1", port=_free_port())
    ctl.start()
    try:
        yield ctl, box
    finally:
        ctl.stop()


EMAIL_BODY = f"""{SUMMARY}

rule:       port-scan
condition:  distinct(dst_port) > 20 (value 37)
group:      src_addr=203.0.113.9
query:      action:REJECT
window:     2026-11-27T10:00:00Z to 2026-11-27T10:01:00Z
flows:      40 (3,520 bytes, 41 packets)

flowtui alerts show 7    # the firing and its flows
"""


def test_email_uses_starttls_when_offered_and_logs_in(smtp_server: tuple[Controller, _Mailbox], certificate: tuple[Path, Path]) -> None:
    ctl, box = smtp_server
    mailer = EmailNotifier("mail", "127.0.0.1", ctl.port, "flowtui@example.com", ["oncall@example.com", "sec@example.com"],
                           username="alerts", password="s3cret", ca_file=str(certificate[0]), timeout=5)
    mailer.send(FIRING)
    (got,) = box.messages
    assert (got["from"], got["to"], got["tls"], got["login"]) == (
        "flowtui@example.com", ["oncall@example.com", "sec@example.com"], True, "alerts"
    )
    msg = email.message_from_bytes(got["data"], policy=email.policy.default)
    assert msg["Subject"] == "[flowtui] port-scan: src_addr=203.0.113.9"
    assert (msg["From"], msg["To"]) == ("flowtui@example.com", "oncall@example.com, sec@example.com")
    assert msg["Date"].datetime == dt.datetime(2026, 11, 27, 10, 1, 15, tzinfo=dt.UTC)
    assert msg.get_content().replace("\r\n", "\n") == EMAIL_BODY  # CRLF on the wire


def test_email_without_tls_when_the_server_offers_none(plain_smtp_server: tuple[Controller, _Mailbox]) -> None:
    ctl, box = plain_smtp_server
    EmailNotifier("mail", "127.0.0.1", ctl.port, "a@example.com", ["b@example.com"], timeout=5).send(FIRING)
    (got,) = box.messages
    assert (got["from"], got["to"], got["tls"]) == ("a@example.com", ["b@example.com"], False)
    assert email.message_from_bytes(got["data"], policy=email.policy.default).get_content().replace("\r\n", "\n") == EMAIL_BODY


def test_email_that_insists_on_starttls_refuses_a_server_without_it(plain_smtp_server: tuple[Controller, _Mailbox]) -> None:
    ctl, box = plain_smtp_server
    mailer = EmailNotifier("mail", "127.0.0.1", ctl.port, "a@example.com", ["b@example.com"], starttls=True, timeout=5)
    with pytest.raises(DeliveryError) as exc:
        mailer.send(FIRING)
    assert (str(exc.value), exc.value.permanent) == ("127.0.0.1 does not offer STARTTLS (starttls = true)", True)
    assert box.messages == []


def test_a_wrong_smtp_password_is_permanent_and_never_shown(
    smtp_server: tuple[Controller, _Mailbox], certificate: tuple[Path, Path]
) -> None:
    ctl, box = smtp_server
    mailer = EmailNotifier("mail", "127.0.0.1", ctl.port, "a@example.com", ["b@example.com"],
                           username="alerts", password="wrong-Pa55word", ca_file=str(certificate[0]), timeout=5)
    with pytest.raises(DeliveryError) as exc:
        mailer.send(FIRING)
    assert (str(exc.value), exc.value.permanent) == ("login refused: 535", True)
    assert box.messages == []


# --- a local command --------------------------------------------------------------------------------


def test_a_command_gets_the_firing_as_json_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    script = f"import sys; open({str(out)!r}, 'wb').write(sys.stdin.buffer.read())"
    CommandNotifier("page", [sys.executable, "-c", script], timeout=10).send(FIRING)
    assert json.loads(out.read_text()) == FIRING.to_json()


def test_a_failing_command_reports_its_status_and_last_words(tmp_path: Path) -> None:
    script = "import sys; sys.stdin.read(); print('paging service said no', file=sys.stderr); sys.exit(3)"
    with pytest.raises(DeliveryError) as exc:
        CommandNotifier("page", [sys.executable, "-c", script], timeout=10).send(FIRING)
    name = Path(sys.executable).name
    assert (str(exc.value), exc.value.permanent) == (f"{name} exited with status 3: paging service said no", False)
    with pytest.raises(DeliveryError) as missing:
        CommandNotifier("page", [str(tmp_path / "nope")]).send(FIRING)
    assert (str(missing.value), missing.value.permanent) == (f"{tmp_path / 'nope'}: no such program", True)


# --- delivery: in the background, retried, reported ---------------------------------------------------


def _status(db: Path, source: str) -> dict[str, Any]:
    with Store(db) as store:
        return next(r for r in store.statuses() if r["source"] == source)


def test_a_notifier_that_times_out_is_retried_then_reported_and_ingest_does_not_wait(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "flows.db"
    store = Store(db)
    with http_server() as slow, http_server() as fast:
        slow.delay = 1.0
        notifiers = {
            "slow": WebhookNotifier("slow", f"{slow.url}/hook", timeout=0.3, attempts=3, backoff=0.05),
            "fast": WebhookNotifier("fast", f"{fast.url}/hook", timeout=2),
        }
        dispatcher = Dispatcher(notifiers, db)
        r = rule(query="*", window="1m", condition="count > 0", group_by=["src_addr"], notifiers=["slow", "fast"])
        AlertEvaluator(store, [r], dispatcher).start()
        with caplog.at_level(logging.INFO, logger="flowtui.alerts"):
            started = time.monotonic()
            write(store, [flow(src="203.0.113.9")])
            write(store, [flow(src="192.0.2.7")])
            took = time.monotonic() - started
            assert took < 0.5  # waiting for the slow server would take 0.9 s a firing
            fast.wait_for(2)  # the fast notifier is not held up by the slow one
            assert [b["group"] for b in fast.bodies()] == [{"src_addr": "203.0.113.9"}, {"src_addr": "192.0.2.7"}]
            assert dispatcher.wait_idle(10)
        assert len(slow.requests) == 6  # 3 attempts for each firing
        dispatcher.close()
    store.close()
    status = _status(db, "alerts:slow")
    assert (status["state"], status["errors"]) == ("error", 2)
    assert status["detail"] == "firing 2 (r) not delivered after 3 attempts: timed out after 0.3 s"
    assert _status(db, "alerts:fast")["state"] == "ok"
    gave_up = [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()]
    assert gave_up == [
        f"alerts: slow (webhook {redact_url(slow.url)}) gave up on firing {n} of r after 3 attempts: timed out after 0.3 s"
        for n in (1, 2)
    ]


def test_a_failed_attempt_is_retried_with_backoff_until_it_succeeds(tmp_path: Path) -> None:
    db = tmp_path / "flows.db"
    Store(db).close()
    with http_server() as srv:
        srv.statuses = [500, 502]
        dispatcher = Dispatcher({"hook": WebhookNotifier("hook", f"{srv.url}/x", timeout=2, attempts=4, backoff=0.1)}, db)
        started = time.monotonic()
        dispatcher.submit(FIRING, ["hook"])
        assert dispatcher.wait_idle(5)
        took = time.monotonic() - started
        dispatcher.close()
        assert len(srv.requests) == 3
        assert all(json.loads(r["body"])["id"] == 7 for r in srv.requests)
    assert 0.3 <= took < 2  # waited 0.1 s, then 0.2 s
    status = _status(db, "alerts:hook")
    assert (status["state"], status["errors"]) == ("ok", 0)
    assert status["detail"].startswith("delivered firing 7 (port-scan) at ")


def test_secrets_never_reach_the_log_or_the_status_rows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "flows.db"
    Store(db).close()
    token = "T0001/B0002/XyzSecretToken42"
    closed = _free_port()  # nothing listens here
    with http_server() as srv:
        srv.statuses = [500] * 10
        notifiers = {
            "chat": SlackNotifier("chat", f"{srv.url}/services/{token}", timeout=1, attempts=2, backoff=0.01),
            "down": SlackNotifier("down", f"http://user:pa55@127.0.0.1:{closed}/services/{token}", timeout=1,
                                  attempts=2, backoff=0.01),
            "siem": WebhookNotifier("siem", f"{srv.url}/in?key={token}", {"Authorization": f"Bearer {token}"},
                                    timeout=1, attempts=1),
        }
        dispatcher = Dispatcher(notifiers, db)
        with caplog.at_level(logging.DEBUG):
            dispatcher.submit(FIRING, ["chat", "down", "siem"])
            assert dispatcher.wait_idle(10)
            dispatcher.close()
    text = "\n".join(r.getMessage() for r in caplog.records)
    with Store(db) as store:
        statuses = "\n".join(f"{r['source']} {r['state']} {r['detail']}" for r in store.statuses())
    for secret in (token, "XyzSecretToken42", "pa55", "user:"):
        assert secret not in text and secret not in statuses
    assert f"slack http://127.0.0.1:{closed}/…" in text
    assert "cannot connect: [Errno 111] Connection refused" in statuses
    assert notifiers["siem"].scrub(f"POST {srv.url}/in?key={token} failed") == f"POST {redact_url(srv.url)} failed"


def test_redact_url() -> None:
    assert redact_url("https://hooks.slack.com/services/T0/B0/secret") == "https://hooks.slack.com/…"
    assert redact_url("https://u:p@example.com:8443/a?b=c") == "https://example.com:8443/…"
    assert redact_url("http://[2001:db8::1]:80/x") == "http://[2001:db8::1]:80/…"
