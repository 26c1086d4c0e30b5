"""Alert rules and notifiers in the config file: what loads, and the one sentence for what does not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flowtui import alerts
from flowtui.alerts.defaults import DEFAULT_RULES
from flowtui.alerts.notifiers import CommandNotifier, EmailNotifier, SlackNotifier, WebhookNotifier
from flowtui.alerts.rules import Condition, Rule, load_rules, parse_condition
from flowtui.config import Config
from flowtui.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def config(tmp_path: Path, text: str) -> Config:
    p = tmp_path / "flowtui.toml"
    p.write_text(text)
    return Config.load(p)


def error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as exc:
        alerts.load(config(tmp_path, text), environ or {})
    return str(exc.value)


def test_a_full_rule_loads(tmp_path: Path) -> None:
    cfg = config(tmp_path, """
[[alerts]]
name = "port-scan"
description = "many ports"
query = "action:REJECT"
window = "1m"
condition = "distinct(dst_port) > 20"
group_by = ["src_addr"]
cooldown = "30m"
lateness = "10m"
notifiers = ["ops"]

[[alerts]]
name = "quiet"
enabled = false
query = "*"

[notifiers.ops]
type = "slack"
url = "https://hooks.slack.com/services/T0/B0/secret"
""")
    rules, notifiers = alerts.load(cfg, {})
    assert rules == [
        Rule(
            name="port-scan", query="action:REJECT", window=60,
            condition=Condition("distinct", "dst_port", ">", 20, "distinct(dst_port) > 20"),
            group_by=("src_addr",), cooldown=1800, notifiers=("ops",), lateness=600, description="many ports",
        )
    ]
    assert list(notifiers) == ["ops"] and isinstance(notifiers["ops"], SlackNotifier)


def test_defaults_of_a_minimal_rule(tmp_path: Path) -> None:
    (r,) = load_rules(config(tmp_path, '[[alerts]]\nname = "any"\n'))
    assert (r.query, r.window, str(r.condition), r.group_by, r.cooldown, r.lateness, r.notifiers) == (
        "*", 300, "count > 0", (), 900, 900, ()
    )
    assert (r.bucket, r.buckets) == (60, 5)


@pytest.mark.parametrize(
    ("text", "label", "field", "op", "threshold"),
    [
        ("count > 100", "count", None, ">", 100),
        ("COUNT() >= 5", "count", None, ">=", 5),
        ("sum(bytes) > 1e9", "sum(bytes)", "bytes", ">", 1e9),
        ("sum( packets )>10", "sum(packets)", "packets", ">", 10),
        ("distinct(dst_addr) > 50", "distinct(dst_addr)", "dst_addr", ">", 50),
    ],
)
def test_conditions(text: str, label: str, field: str | None, op: str, threshold: float) -> None:
    c = parse_condition(text)
    assert (c.label, c.field, c.op, c.threshold) == (label, field, op, threshold)
    assert c.holds(threshold) is (op == ">=")


def test_a_bad_query_names_the_rule_and_the_position(tmp_path: Path) -> None:
    text = '[[alerts]]\nname = "web"\nquery = "dst_port:(80 OR"\n'
    assert error(tmp_path, text) == (
        f"{tmp_path / 'flowtui.toml'}: [[alerts]] 'web': bad query at character 10: "
        "unbalanced parentheses: this '(' is never closed\n"
        "    dst_port:(80 OR\n"
        "             ^"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('query = "dst_prot:22"', "'r': bad query at character 1: unknown field 'dst_prot' (did you mean dst_port?)"),
        ('group_by = ["src_adr"]', "'r': group_by: unknown field 'src_adr' (did you mean src_addr?)"),
        ('group_by = ["message"]', "'r': group_by: message cannot be grouped by"),
        ('condition = "count > lots"', "'r': condition 'count > lots' does not parse: use count > N, sum(bytes) > N"),
        ('condition = "avg(bytes) > 5"', "'r': condition 'avg(bytes) > 5' does not parse"),
        ('condition = "sum(dst_port) > 5"', "'r': condition 'sum(dst_port) > 5': sum() takes bytes or packets"),
        ('condition = "distinct(port) > 5"', "'r': distinct(): unknown field 'port'"),
        ('window = "soon"', "'r': bad window 'soon'"),
        ('window = "2d"', "'r': window must be between 1s and 1d"),
        ('window = "1.5s"', "'r': window must be whole seconds"),
        ('cooldown = -5', "'r': cooldown and lateness must not be negative"),
        ('groupby = ["src_addr"]', "'r': unknown key 'groupby'"),
        ('notifiers = ["pager"]', "'r': no [notifiers.pager] table"),
    ],
)
def test_rule_mistakes(tmp_path: Path, body: str, message: str) -> None:
    assert message in error(tmp_path, f'[[alerts]]\nname = "r"\n{body}\n')


def test_rules_need_unique_names(tmp_path: Path) -> None:
    assert "[[alerts]] #1: needs a name" in error(tmp_path, '[[alerts]]\nquery = "*"\n')
    assert "[[alerts]] 'a' is defined twice" in error(tmp_path, '[[alerts]]\nname = "a"\n[[alerts]]\nname = "a"\n')


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('type = "pager"', "[notifiers.n]: type must be one of slack, webhook, email, command"),
        ('type = "slack"', "[notifiers.n]: needs url (or url_env, the environment variable holding it)"),
        ('type = "slack"\nurl_env = "HOOK"', "[notifiers.n]: url_env names HOOK, which is not set in the environment"),
        ('type = "webhook"\nurl = "ftp://x/y"', "[notifiers.n]: url must be an http(s) URL, not ftp://x/…"),
        ('type = "email"\nhost = "smtp"\nfrom = "a@b"\nto = "c@d"\npassword = "hunter2"',
         "[notifiers.n]: put the password in an environment variable and name it"),
        ('type = "email"\nhost = "smtp"\nfrom = "a@b"\nto = "c@d"\nusername = "u"',
         "[notifiers.n]: username needs password_env"),
        ('type = "email"\nhost = "smtp"\nfrom = "a@b"', "[notifiers.n]: needs to, a recipient address"),
        ('type = "email"\nhost = "smtp"\nfrom = "a@b"\nto = "c@d"\nstarttls = "yes"', "starttls must be true, false or"),
        ('type = "command"\ncommand = []', "[notifiers.n]: command must be a program and its arguments"),
        ('type = "command"\ncommand = "x"\nretries = -1', "[notifiers.n]: retries must be a whole number from 0 to 20"),
        ('type = "slack"\nurl = "https://h/x"\nchannel = "#ops"', "[notifiers.n]: unknown key 'channel' for type 'slack'"),
    ],
)
def test_notifier_mistakes(tmp_path: Path, table: str, message: str) -> None:
    text = f'[[alerts]]\nname = "r"\nnotifiers = ["n"]\n[notifiers.n]\n{table}\n'
    assert message in error(tmp_path, text)


def test_notifiers_read_secrets_from_the_environment(tmp_path: Path) -> None:
    cfg = config(tmp_path, """
[[alerts]]
name = "r"
notifiers = ["chat", "siem", "mail", "page", "unused"]

[notifiers.chat]
type = "slack"
url_env = "SLACK_HOOK"

[notifiers.siem]
type = "webhook"
url = "https://siem.example.com/in"
headers = { "X-Source" = "flowtui" }
headers_env = { "Authorization" = "SIEM_TOKEN" }
timeout = "3s"
retries = 1
backoff = "500ms"

[notifiers.mail]
type = "email"
host = "smtp.example.com"
username = "alerts"
password_env = "SMTP_PASSWORD"
from = "flowtui@example.com"
to = ["oncall@example.com", "sec@example.com"]

[notifiers.page]
type = "command"
command = "/usr/local/bin/page --team 'net ops'"

[notifiers.unused]
type = "slack"
url = "https://hooks.slack.com/services/a/b/c"
""".replace('"500ms"', "0.5"))
    env = {"SLACK_HOOK": "https://hooks.slack.com/services/T1/B2/tok", "SIEM_TOKEN": "Bearer abc123", "SMTP_PASSWORD": "pw"}
    _, n = alerts.load(cfg, env)
    assert set(n) == {"chat", "siem", "mail", "page", "unused"}
    chat, siem, mail, page = n["chat"], n["siem"], n["mail"], n["page"]
    assert isinstance(chat, SlackNotifier) and chat.url == env["SLACK_HOOK"]
    assert isinstance(siem, WebhookNotifier) and siem.headers == {"X-Source": "flowtui", "Authorization": "Bearer abc123"}
    assert (siem.timeout, siem.attempts, siem.backoff) == (3.0, 2, 0.5)
    assert isinstance(mail, EmailNotifier)
    assert (mail.host, mail.port, mail.starttls, mail.tls, mail.username, mail.password) == (
        "smtp.example.com", 587, None, False, "alerts", "pw"
    )
    assert mail.recipients == ["oncall@example.com", "sec@example.com"]
    assert isinstance(page, CommandNotifier) and page.argv == ["/usr/local/bin/page", "--team", "net ops"]
    assert (chat.describe(), siem.describe(), page.describe()) == (
        "slack https://hooks.slack.com/…", "webhook https://siem.example.com/…", "command page"
    )


def _example_alerts_block() -> str:
    """The commented-out [[alerts]] and [notifiers] part of config.example.toml, uncommented."""
    text = EXAMPLE.read_text()
    start = text.index("# [[alerts]]")
    lines = []
    for line in text[start:].splitlines():
        if re.match(r"^# ?(\[|[a-z_]+ = )", line):
            lines.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(lines) + "\n"


def test_the_example_config_rules_load_and_match_the_defaults(tmp_path: Path) -> None:
    cfg = config(tmp_path, _example_alerts_block())
    rules, _ = alerts.load(cfg, {"FLOWTUI_SLACK_WEBHOOK": "https://hooks.slack.com/services/T/B/x",
                                 "FLOWTUI_SMTP_PASSWORD": "pw", "FLOWTUI_SIEM_TOKEN": "t"})
    from flowtui.alerts.rules import parse_rule

    defaults = [parse_rule(t) for t in DEFAULT_RULES]
    assert [r.name for r in rules] == [r.name for r in defaults]
    for got, want in zip(rules, defaults):
        assert (got.query, got.window, got.condition, got.group_by, got.cooldown) == (
            want.query, want.window, want.condition, want.group_by, want.cooldown
        )
