"""Where firings go: a Slack incoming webhook, e-mail over SMTP, a generic webhook, a local command.

Each ``[notifiers.NAME]`` table of the config becomes one :class:`Notifier`.
Sending is synchronous and bounded by a timeout; retrying and reporting are
the dispatcher's job (:mod:`flowtui.alerts.delivery`). Secrets (webhook URLs
carry their token in the path, SMTP passwords, header values) are read from
the config or the environment, and every text a notifier hands out about
itself or its failures passes through :meth:`Notifier.scrub` first: a URL is
shown as ``scheme://host/…`` and nothing else of it.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import smtplib
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from flowtui import __version__
from flowtui.alerts.firings import Firing
from flowtui.config import Config, parse_duration
from flowtui.errors import ConfigError
from flowtui.words import counted

DEFAULT_TIMEOUT = 10.0
DEFAULT_ATTEMPTS = 4
DEFAULT_BACKOFF = 2.0
KINDS = ("slack", "webhook", "email", "command")
_COMMON_KEYS = frozenset(("type", "timeout", "retries", "backoff"))
_KEYS = {
    "slack": frozenset(("url", "url_env")),
    "webhook": frozenset(("url", "url_env", "headers", "headers_env")),
    "email": frozenset(
        ("host", "port", "tls", "starttls", "username", "password_env", "from", "to", "subject_prefix", "ca_file")
    ),
    "command": frozenset(("command",)),
}


class DeliveryError(Exception):
    """A delivery that failed; the message is already free of secrets.

    ``permanent`` failures (a webhook answering 404, a rejected login) are not retried.
    """

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def redact_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0/B0/secret`` → ``https://hooks.slack.com/…``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<url>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme or '?'}://{host}{port}/…"


class Notifier:
    """One configured destination. Subclasses implement :meth:`send`."""

    kind = ""

    def __init__(self, name: str, timeout: float = DEFAULT_TIMEOUT, attempts: int = DEFAULT_ATTEMPTS,
                 backoff: float = DEFAULT_BACKOFF) -> None:
        self.name = name
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff

    def send(self, firing: Firing) -> None:
        """Deliver one firing within ``timeout``; DeliveryError (already scrubbed) when it fails."""
        raise NotImplementedError

    def secrets(self) -> list[tuple[str, str]]:
        """(secret, what to show instead) pairs, longest first."""
        return []

    def scrub(self, text: str) -> str:
        for secret, shown in sorted(self.secrets(), key=lambda s: -len(s[0])):
            if secret:
                text = text.replace(secret, shown)
        return text

    def describe(self) -> str:
        """What the notifier is, safe to print."""
        return self.kind

    def fail(self, exc: BaseException, permanent: bool = False) -> DeliveryError:
        return DeliveryError(self.scrub(_reason(exc, self.timeout)), permanent)


# --- HTTP ------------------------------------------------------------------------------------


class WebhookNotifier(Notifier):
    """POSTs the firing as JSON (:meth:`Firing.to_json`) to a URL."""

    kind = "webhook"

    def __init__(self, name: str, url: str, headers: Mapping[str, str] | None = None, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.url = url
        self.headers = dict(headers or {})
        parts = urlsplit(url)
        self._target = url
        if parts.username is not None or parts.password is not None:
            # urllib takes user:password@ for part of the host name: send it as basic auth instead.
            creds = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()
            self.headers.setdefault("Authorization", "Basic " + base64.b64encode(creds).decode("ascii"))
            self._target = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

    def body(self, firing: Firing) -> dict[str, Any]:
        return firing.to_json()

    def send(self, firing: Firing) -> None:
        data = json.dumps(self.body(firing), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": f"flowtui/{__version__}", **self.headers}
        request = urllib.request.Request(self._target, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read(65536)
        except urllib.error.HTTPError as exc:
            # 4xx is the address or the payload being wrong: retrying will not help (429 aside).
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise DeliveryError(self.scrub(f"HTTP {exc.code} {exc.reason}"), permanent) from None
        except Exception as exc:  # noqa: BLE001 - socket, TLS and URL errors alike: reported, retried
            raise self.fail(exc) from None

    def secrets(self) -> list[tuple[str, str]]:
        out = [(self.url, redact_url(self.url))]
        parts = urlsplit(self.url)
        tail = parts.path + (f"?{parts.query}" if parts.query else "")
        if len(tail) > 1:
            out.append((tail, "/…"))
        if parts.password:
            out.append((parts.password, "…"))
        out += [(v, "…") for v in self.headers.values() if len(v) >= 4]
        return out

    def describe(self) -> str:
        return f"{self.kind} {redact_url(self.url)}"


class SlackNotifier(WebhookNotifier):
    """A Slack incoming webhook: ``{"text": summary}``."""

    kind = "slack"

    def body(self, firing: Firing) -> dict[str, Any]:
        return {"text": slack_text(firing)}


def slack_text(firing: Firing) -> str:
    muted = " (muted)" if firing.muted_until else ""
    ref = f" · flowtui alerts show {firing.id}" if firing.id is not None else ""
    return f":rotating_light: *flowtui alert{muted}* {_slack_escape(firing.summary())}{ref}"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- e-mail ----------------------------------------------------------------------------------


class EmailNotifier(Notifier):
    """Plain-text mail over SMTP: STARTTLS when the server offers it (or always, ``starttls = true``),
    implicit TLS with ``tls = true``, login with a password from the environment."""

    kind = "email"

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        sender: str,
        recipients: list[str],
        *,
        tls: bool = False,
        starttls: bool | None = None,  # None: when offered
        username: str | None = None,
        password: str | None = None,
        subject_prefix: str = "[flowtui]",
        ca_file: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(name, **kw)
        self.host, self.port = host, port
        self.sender, self.recipients = sender, recipients
        self.tls, self.starttls = tls, starttls
        self.username, self.password = username, password
        self.subject_prefix = subject_prefix
        self.ca_file = ca_file

    def message(self, firing: Firing) -> EmailMessage:
        msg = EmailMessage()
        subject = f"{self.subject_prefix} {firing.rule}: {firing.group_text}".strip()
        msg["Subject"] = subject + (" (muted)" if firing.muted_until else "")
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = formatdate(firing.fired_at, usegmt=True)
        msg["Message-ID"] = make_msgid("flowtui")
        msg.set_content(email_body(firing))
        return msg

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()

    def send(self, firing: Firing) -> None:
        msg = self.message(firing)
        try:
            if self.tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                client.ehlo()
                if not self.tls:
                    offered = client.has_extn("starttls")
                    if self.starttls and not offered:
                        raise DeliveryError(f"{self.host} does not offer STARTTLS (starttls = true)", permanent=True)
                    if offered and self.starttls is not False:
                        client.starttls(context=self._context())
                        client.ehlo()
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(msg)
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(self.scrub(f"login refused: {exc.smtp_code}"), permanent=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(self.scrub(f"recipients refused: {', '.join(exc.recipients)}"), permanent=True) from None
        except Exception as exc:  # noqa: BLE001 - reported and retried
            raise self.fail(exc) from None

    def secrets(self) -> list[tuple[str, str]]:
        return [(self.password, "…")] if self.password else []

    def describe(self) -> str:
        return f"email via {self.host}:{self.port} to {', '.join(self.recipients)}"


def email_body(firing: Firing) -> str:
    lines = [
        firing.summary(),
        "",
        f"rule:       {firing.rule}",
        f"condition:  {firing.condition_text} (value {firing.value_text})",
        f"group:      {firing.group_text}",
        f"query:      {firing.query}",
        f"window:     {firing.to_json()['window_start_iso']} to {firing.to_json()['window_end_iso']}",
        f"flows:      {firing.flows:,} ({counted(firing.bytes, 'byte')}, {counted(firing.packets, 'packet')})",
    ]
    if firing.muted_until:
        lines.append("muted:      yes (recorded, not meant to page anyone)")
    if firing.id is not None:
        lines += ["", f"flowtui alerts show {firing.id}    # the firing and its flows"]
    return "\n".join(lines) + "\n"


# --- a local command --------------------------------------------------------------------------


class CommandNotifier(Notifier):
    """Runs a program with the firing as JSON on its standard input; exit status 0 is success."""

    kind = "command"

    def __init__(self, name: str, argv: list[str], **kw: Any) -> None:
        super().__init__(name, **kw)
        self.argv = argv

    def send(self, firing: Firing) -> None:
        data = json.dumps(firing.to_json(), ensure_ascii=False).encode("utf-8")
        try:
            done = subprocess.run(
                self.argv, input=data, capture_output=True, timeout=self.timeout, check=False
            )
        except FileNotFoundError:
            raise DeliveryError(f"{self.argv[0]}: no such program", permanent=True) from None
        except Exception as exc:  # noqa: BLE001 - timeouts, permissions: reported and retried
            raise self.fail(exc) from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            tail = f": {err[-1][:200]}" if err else ""
            raise DeliveryError(self.scrub(f"{os.path.basename(self.argv[0])} exited with status {done.returncode}{tail}"))

    def describe(self) -> str:
        return f"command {os.path.basename(self.argv[0])}"


# --- config --------------------------------------------------------------------------------------


def load_notifiers(config: Config, names: set[str] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Notifier]:
    """The ``[notifiers.NAME]`` tables (only ``names``, when given), secrets resolved from the environment."""
    env = os.environ if environ is None else environ
    where = str(config.path) if config.path else "config"
    section = config.section("notifiers")
    out: dict[str, Notifier] = {}
    for name, table in section.items():
        if names is not None and name not in names:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [notifiers.{name}] must be a table")
        out[name] = build_notifier(name, table, where, env)
    return out


def build_notifier(name: str, table: Mapping[str, Any], where: str = "config",
                   environ: Mapping[str, str] | None = None) -> Notifier:
    env = os.environ if environ is None else environ
    label = f"{where}: [notifiers.{name}]"

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{label}: {message}")

    kind = table.get("type")
    if kind not in KINDS:
        raise fail(f"type must be one of {', '.join(KINDS)}, not {kind!r}")
    unknown = sorted(set(table) - _COMMON_KEYS - _KEYS[kind])
    if unknown:
        if unknown[0] == "password":
            raise fail("put the password in an environment variable and name it: password_env = \"FLOWTUI_SMTP_PASSWORD\"")
        raise fail(f"unknown key {unknown[0]!r} for type {kind!r}")
    default_timeout = 30.0 if kind == "command" else DEFAULT_TIMEOUT
    try:
        timeout = parse_duration(table.get("timeout", default_timeout), "timeout")
        backoff = parse_duration(table.get("backoff", DEFAULT_BACKOFF), "backoff")
    except ConfigError as exc:
        raise fail(str(exc)) from None
    retries = table.get("retries", DEFAULT_ATTEMPTS - 1)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 20:
        raise fail("retries must be a whole number from 0 to 20")
    if timeout <= 0 or backoff < 0:
        raise fail("timeout must be positive and backoff not negative")
    kw: dict[str, Any] = {"timeout": timeout, "attempts": retries + 1, "backoff": backoff}

    def secret(key: str, env_key: str, required: bool) -> str | None:
        value = table.get(key)
        var = table.get(env_key)
        if value is not None and var is not None:
            raise fail(f"give {key} or {env_key}, not both")
        if var is not None:
            if not isinstance(var, str) or not var:
                raise fail(f"{env_key} must name an environment variable")
            if not env.get(var):
                raise fail(f"{env_key} names {var}, which is not set in the environment")
            return env[var]
        if value is None:
            if required:
                raise fail(f"needs {key} (or {env_key}, the environment variable holding it)")
            return None
        if not isinstance(value, str) or not value:
            raise fail(f"{key} must be a string")
        return value

    if kind in ("slack", "webhook"):
        url = secret("url", "url_env", True)
        assert url is not None
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise fail(f"url must be an http(s) URL, not {redact_url(url)}")
        if kind == "slack":
            return SlackNotifier(name, url, **kw)
        headers = table.get("headers", {})
        headers_env = table.get("headers_env", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise fail("headers must be a table of strings")
        if not isinstance(headers_env, dict) or not all(isinstance(v, str) for v in headers_env.values()):
            raise fail("headers_env must be a table of header = \"ENV_VAR\"")
        resolved = dict(headers)
        for header, var in headers_env.items():
            if not env.get(var):
                raise fail(f"headers_env.{header} names {var}, which is not set in the environment")
            resolved[header] = env[var]
        return WebhookNotifier(name, url, resolved, **kw)
    if kind == "email":
        host = table.get("host")
        if not isinstance(host, str) or not host:
            raise fail("needs host, the SMTP server")
        tls = table.get("tls", False)
        starttls = table.get("starttls", "auto")
        if not isinstance(tls, bool):
            raise fail("tls must be true or false")
        if starttls not in (True, False, "auto"):
            raise fail("starttls must be true, false or \"auto\" (when the server offers it)")
        port = table.get("port", 465 if tls else 587)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise fail("port must be a port number")
        sender = table.get("from")
        if not isinstance(sender, str) or "@" not in sender:
            raise fail("needs from, the sender address")
        to = table.get("to")
        recipients = [to] if isinstance(to, str) else to
        if not isinstance(recipients, list) or not recipients or not all(isinstance(r, str) and "@" in r for r in recipients):
            raise fail("needs to, a recipient address or a list of them")
        username = table.get("username")
        if username is not None and not isinstance(username, str):
            raise fail("username must be a string")
        password = secret("password", "password_env", False) if "password_env" in table else None
        if username and password is None:
            raise fail("username needs password_env, the environment variable holding the password")
        ca_file = table.get("ca_file")
        if ca_file is not None and not isinstance(ca_file, str):
            raise fail("ca_file must be a path")
        prefix = table.get("subject_prefix", "[flowtui]")
        if not isinstance(prefix, str):
            raise fail("subject_prefix must be a string")
        return EmailNotifier(
            name,
            host,
            port,
            sender,
            recipients,
            tls=tls,
            starttls=None if starttls == "auto" else bool(starttls),
            username=username,
            password=password,
            subject_prefix=prefix,
            ca_file=ca_file,
            **kw,
        )
    command = table.get("command")
    argv = shlex.split(command) if isinstance(command, str) else command
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise fail("command must be a program and its arguments, e.g. [\"/usr/local/bin/page\", \"--team\", \"net\"]")
    return CommandNotifier(name, argv, **kw)


def _reason(exc: BaseException, timeout: float) -> str:
    """A failure in a few words."""
    if isinstance(exc, (socket.timeout, TimeoutError, subprocess.TimeoutExpired)):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return f"timed out after {timeout:g} s"
        return f"cannot connect: {reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"
