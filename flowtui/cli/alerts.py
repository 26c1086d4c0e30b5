"""``flowtui alerts``: the firings in a store, acknowledging and muting them, and trying rules and notifiers."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from flowtui.alerts import AlertLog, Firing, evaluate_window, load
from flowtui.alerts.defaults import DEFAULT_RULES
from flowtui.alerts.firings import firing_state, group_json, mute_ending
from flowtui.alerts.notifiers import DeliveryError, load_notifiers
from flowtui.alerts.rules import Rule, load_rules, parse_rule
from flowtui.cli import common
from flowtui.config import Config, did_you_mean, parse_duration
from flowtui.errors import ConfigError, FlowtuiError, QueryError, UsageError
from flowtui.query.window import TimeWindow, format_duration, parse_time
from flowtui.words import counted

_EPILOG = """\
rules live in the config file as [[alerts]] tables and notifiers as [notifiers.NAME]
tables (config.example.toml has examples). Rules are evaluated by whatever ingests
live - flowtui tail (with or without the dashboard) and flowtui demo - as flows arrive.

examples:
  flowtui alerts                        # the newest firings
  flowtui alerts list --since 1h --unacked
  flowtui alerts show 12                # one firing and its flows
  flowtui alerts ack 12 13              # or: ack --all
  flowtui alerts mute port-scan --for 2h
  flowtui alerts test port-scan         # what the rule finds in the newest window, no notifying
  flowtui alerts notify ops-slack       # send a test message through one notifier
"""


def register(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "alerts",
        help="list, acknowledge and mute alert firings; try rules and notifiers",
        description="Alert firings stored by the ingesting flowtui, and the rules and notifiers of the config file.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_store_args(p)
    cmds = p.add_subparsers(dest="alerts_command", metavar="ACTION", parser_class=type(p))

    ls = cmds.add_parser("list", help="firings, newest first (the default action)")
    _list_args(ls)
    _list_args(p, top=True)

    show = cmds.add_parser("show", help="one firing, and the flows that made it")
    _store_args(show)
    show.add_argument("id", type=int, metavar="ID")
    show.add_argument("--flows", type=int, default=20, metavar="N", help="flows to print (default 20; 0: none)")
    show.add_argument("--format", choices=("table", "json"), default="table")
    show.set_defaults(run=run_show)

    ack = cmds.add_parser("ack", help="acknowledge firings")
    _store_args(ack)
    ack.add_argument("ids", type=int, nargs="*", metavar="ID")
    ack.add_argument("--all", dest="all_", action="store_true", help="every firing not yet acknowledged")
    ack.set_defaults(run=run_ack)

    mute = cmds.add_parser("mute", help="silence a rule (or one group of it) for a while; firings are still recorded")
    _store_args(mute)
    mute.add_argument("rule", metavar="RULE")
    mute.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="e.g. 30m, 2h, 1d")
    mute.add_argument("--group", action="append", default=[], metavar="FIELD=VALUE",
                      help="only this group (repeat for each group_by field), e.g. --group src_addr=203.0.113.9")
    mute.set_defaults(run=run_mute)

    unmute = cmds.add_parser("unmute", help="lift the mutes of a rule")
    _store_args(unmute)
    unmute.add_argument("rule", metavar="RULE")
    unmute.set_defaults(run=run_unmute)

    test = cmds.add_parser("test", help="evaluate a rule over the store's newest window; notifies nobody")
    _store_args(test)
    test.add_argument("rule", metavar="RULE")
    test.add_argument("--at", metavar="TIME", help="the window holding TIME (default: the newest flow's)")
    test.add_argument("--all-groups", action="store_true", help="also groups that do not meet the condition")
    test.set_defaults(run=run_test)

    rules = cmds.add_parser("rules", help="the rules and notifiers of the config file, checked")
    _store_args(rules)
    rules.set_defaults(run=run_rules)

    notify = cmds.add_parser("notify", help="send a test firing through a notifier, now, and say how it went")
    _store_args(notify)
    notify.add_argument("notifier", metavar="NOTIFIER")
    notify.set_defaults(run=run_notify)


def _store_args(p: argparse.ArgumentParser) -> None:
    """--db and --config after the action too; given before it (flowtui alerts --db X list) they stay."""
    p.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="the SQLite store")
    p.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="TOML config file")


def _list_args(p: argparse.ArgumentParser, top: bool = False) -> None:
    if not top:
        _store_args(p)
    p.add_argument("--since", metavar="DURATION", help="fired in the last DURATION (e.g. 1h, 1d)")
    p.add_argument("--rule", metavar="NAME", help="only this rule's firings")
    p.add_argument("--unacked", action="store_true", help="only firings nobody has acknowledged")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N firings (default 50; 0: all)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=run_list)


# --- reading ---------------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    since = None
    if args.since:
        try:
            since = time.time() - parse_duration(args.since, "--since")
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    config = common.load_config(args)
    with common.open_store(args, config, readonly=True) as store:
        history = AlertLog(store)
        if args.rule:
            _find_rule(args.rule, config, history)  # a name no rule or firing has: a UsageError naming those there are
        firings = history.recent(since, args.rule, args.unacked, args.limit or None)
        now = time.time()
        mutes = history.mutes(now)
    if args.format == "json":
        print(json.dumps([_json(f, mute_ending(mutes, f)) for f in firings], indent=2, ensure_ascii=False))
        return 0
    if not firings:
        print("no firings" + (" in that time" if since is not None else ""), file=sys.stderr)
        return 0
    from flowtui.cli.query import print_table

    headers = ["id", "fired", "rule", "group", "value", "window", "flows", "state"]
    rows = [
        {
            "id": f.id,
            "fired": _utc(f.fired_at),
            "rule": f.rule,
            "group": f.group_text,
            "value": f.value_text,
            "window": _window_text(f),
            "flows": f"{f.flows:,}",  # as VALUE is written: 5,602 next to 5,602
            "state": firing_state(f, mute_ending(mutes, f), lambda t: _utc_short(t, now)),
        }
        for f in firings
    ]
    labels = {"fired": "FIRED (UTC)", "window": "WINDOW (UTC)"}
    print_table(headers, rows, sys.stdout, labels={h: labels.get(h, h.upper()) for h in headers})
    return 0


def run_show(args: argparse.Namespace) -> int:
    config = common.load_config(args)
    with common.open_store(args, config, readonly=True) as store:
        history = AlertLog(store)
        firing = history.get(args.id)
        if firing is None:
            raise FlowtuiError(f"no firing {args.id} in {store.path} (flowtui alerts list shows them)")
        mute_until = mute_ending(history.mutes(), firing)
        rows: list[dict[str, Any]] = []
        fields: list[str] = []
        if args.flows:
            from flowtui.query.engine import QueryEngine, columns_for

            engine = QueryEngine(store)
            query = firing.drilldown_query()
            fields = columns_for(query)
            window = TimeWindow(firing.window_start, firing.window_end)
            try:
                rows = engine.search(query, window, fields=fields, limit=args.flows, order="timestamp")
            except QueryError:
                rows = []  # a rule whose fields this store lacks; the firing still shows
    if args.format == "json":
        out = _json(firing, mute_until)
        out["drilldown_query"] = firing.drilldown_query()
        if args.flows:
            out["flows_sample"] = rows
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(f"firing {firing.id}: {firing.summary()}")
    print(f"  rule       {firing.rule}")
    print(f"  condition  {firing.condition_text}  (value {firing.value_text})")
    print(f"  group      {firing.group_text}")
    print(f"  query      {firing.query}")
    print(f"  window     {_utc(firing.window_start)} – {_utc(firing.window_end)} UTC")
    print(f"  fired      {_utc(firing.fired_at)} UTC")
    print(
        f"  flows      {firing.flows:,} ({counted(firing.bytes, 'byte')}, {counted(firing.packets, 'packet')});"
        f" {counted(len(firing.flow_ids), 'id')} kept"
    )
    print(f"  state      {firing_state(firing, mute_until, lambda t: _utc(t) + ' UTC')}")
    start, end = _iso(firing.window_start), _iso(firing.window_end - 1)
    print(f"  query them flowtui query --from {start} --to {end} '{firing.drilldown_query()}'")
    if rows:
        from flowtui.cli.query import print_table

        print()
        print(f"its group's flows in the window as stored now, first {len(rows)} (the firing counted {firing.flows:,}):")
        print_table(fields, rows, sys.stdout)
    return 0


# --- acknowledging and muting ---------------------------------------------------------------------


def run_ack(args: argparse.Namespace) -> int:
    """Every id named is checked before any is acknowledged: one wrong id changes nothing."""
    if not args.ids and not args.all_:
        raise UsageError("name the firings to acknowledge (flowtui alerts ack 12 13) or pass --all")
    with common.open_store(args) as store:
        history = AlertLog(store)
        named = list(dict.fromkeys(args.ids))
        firings = {i: history.get(i) for i in named}
        missing = [i for i, f in firings.items() if f is None]
        if missing:
            s = "s" if len(missing) > 1 else ""
            raise FlowtuiError(f"no firing{s} {', '.join(map(str, missing))} in {store.path}; nothing acknowledged")
        already = [i for i, f in firings.items() if f is not None and f.acknowledged]
        ids = [i for i in named if i not in already]
        if args.all_:
            ids += [f.id for f in history.recent(unacknowledged=True, limit=None) if f.id is not None and f.id not in ids]
        done = history.acknowledge(ids) if ids else []
    if done or not already:
        print(f"acknowledged {counted(len(done), 'firing')}")
    if already:
        print(f"firing{'s' if len(already) > 1 else ''} {', '.join(map(str, already))} "
              f"{'were' if len(already) > 1 else 'was'} already acknowledged")
    return 0


def run_mute(args: argparse.Namespace) -> int:
    try:
        seconds = parse_duration(args.duration, "--for")
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if seconds <= 0:
        raise UsageError("--for must be a positive duration, e.g. 1h")
    config = common.load_config(args)
    with common.open_store(args, config) as store:
        history = AlertLog(store)
        rule = _known_rule(args.rule, config, history)
        group = _group(args.group, rule)
        until = time.time() + seconds
        history.mute(args.rule, until, group or None)
    what = f"{args.rule} for {' '.join(f'{k}={v}' for k, v in group.items())}" if group else args.rule
    print(f"muted {what} until {_utc(until)} UTC ({format_duration(int(seconds))}); firings are still recorded")
    if rule is not None and not any(r.name == rule.name for r in load_rules(config)):
        print(f"({args.rule} is an example rule: flowtui demo runs it; your config does not)")
    return 0


def run_unmute(args: argparse.Namespace) -> int:
    with common.open_store(args) as store:
        lifted = AlertLog(store).unmute(args.rule)
    if not lifted:
        print(f"flowtui: {args.rule} was not muted", file=sys.stderr)
        return 1
    print(f"unmuted {args.rule}")
    return 0


def _known_rule(name: str, config: Config, history: AlertLog) -> Rule | None:
    """The rule named ``name`` as :func:`_find_rule` finds it; None if only the store knows it."""
    rule, _ = _find_rule(name, config, history)
    return rule


def _find_rule(name: str, config: Config, history: AlertLog | None = None) -> tuple[Rule | None, bool]:
    """(rule, whether it is an example rule): the config's, else an example rule's (the ones
    ``flowtui demo`` runs), else (None, False) for a name only stored firings carry.

    Not found anywhere, a UsageError names the rules there are."""
    rules = load_rules(config)
    for rule in rules:
        if rule.name == name:
            return rule, False
    for table in DEFAULT_RULES:
        if table["name"] == name:
            return parse_rule(table, "example rules"), True
    if history is not None and history.recent(rule=name, limit=1):
        return None, False
    configured = [r.name for r in rules]
    known = list(dict.fromkeys([*configured, *(t["name"] for t in DEFAULT_RULES)]))
    hint = did_you_mean(name, known, otherwise="")
    where = "the config, the example rules or the stored firings" if history is not None else "the config or the example rules"
    listed = (f"; the config's: {', '.join(configured)}" if configured else "") + (
        f"; the examples: {', '.join(t['name'] for t in DEFAULT_RULES)}"
    )
    raise UsageError(f"no rule named {name!r} in {where}{hint or listed}")


def _group(pairs: list[str], rule: Rule | None) -> dict[str, Any]:
    group: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--group {pair!r}: use FIELD=VALUE, e.g. src_addr=203.0.113.9")
        group[name.strip()] = _value(text.strip())
    if rule is not None and group:
        if set(group) != set(rule.group_by):
            fields = ", ".join(rule.group_by) or "nothing"
            raise UsageError(f"--group must name each field {rule.name} groups by: {fields}")
        group = {name: group[name] for name in rule.group_by}
    return group


def _value(text: str) -> Any:
    """A group value as the evaluator keeps it: true/false, whole numbers, else text."""
    if text in ("true", "false"):
        return text == "true"
    if text.isdigit():
        return int(text)
    return text


# --- trying rules and notifiers ------------------------------------------------------------------


def run_test(args: argparse.Namespace) -> int:
    config = common.load_config(args)
    rule, example = _rule_for_test(args.rule, config)
    at = parse_time(args.at, "--at")[0] if args.at else None
    with common.open_store(args, config, readonly=True) as store:
        result = evaluate_window(store, rule, at)
        history = AlertLog(store)
        now = time.time()
        if result is None:
            print("the store holds no flows yet", file=sys.stderr)
            return 0
        groups = ", ".join(rule.group_by) if rule.group_by else "no groups"
        print(f"rule {rule.name}{' (the example rule, not in your config)' if example else ''}: {rule.query}")
        print(f"  {rule.condition.shown} over {format_duration(rule.window)}, by {groups}, cool-down {format_duration(rule.cooldown)}")
        print(f"  window {_utc(result.start)} – {_utc(result.end)} UTC")
        hits = result.hits()
        shown = hits if not args.all_groups else sorted(result.values.items(), key=lambda kv: (-kv[1][0], str(kv[0])))
        if not hits:
            print(f"would not fire ({counted(len(result.values), 'group')} matched the query)")
        else:
            print(f"would fire for {counted(len(hits), 'group')}:")
        last = history.last_fired(rule.name)
        for key, (value, flows, nbytes, _packets) in shown:
            group = dict(zip(rule.group_by, key))
            probe = Firing(rule.name, group, value, result.start, result.end, now)
            notes = []
            if not rule.condition.holds(value):
                notes.append("below the condition")
            end = last.get(group_json(group))
            if end is not None and abs(result.end - end) < rule.cooldown:
                notes.append(f"cooling down since the window ending {_utc(end)}")
            muted = history.muted_until(rule.name, group, now)
            if muted is not None:
                notes.append(f"muted until {_utc(muted)}")
            note = f"  ({'; '.join(notes)})" if notes else ""
            print(f"  {probe.group_text}  {rule.condition.label} = {probe.value_text}  {counted(flows, 'flow')}, {counted(nbytes, 'byte')}{note}")
    return 0


def _rule_for_test(name: str, config: Config) -> tuple[Rule, bool]:
    rule, example = _find_rule(name, config)
    assert rule is not None  # without a store to ask, _find_rule finds a rule or raises
    return rule, example


def run_rules(args: argparse.Namespace) -> int:
    config = common.load_config(args)
    rules, _ = load(config)
    notifiers = load_notifiers(config)  # every one, used or not: each is checked
    used = {n for r in rules for n in r.notifiers}
    if not rules:
        print("no [[alerts]] rules in " + (str(config.path) if config.path else "the config (there is no config file)"))
        print("config.example.toml has examples to copy")
    for rule in rules:
        groups = f" by {', '.join(rule.group_by)}" if rule.group_by else ""
        tell = ", ".join(rule.notifiers) or "nobody (stored only)"
        print(f"{rule.name}: {rule.condition.shown} over {format_duration(rule.window)}{groups}; cool-down"
              f" {format_duration(rule.cooldown)}; tells {tell}")
        print(f"    {rule.query}")
    if notifiers:
        print()
        for name, n in notifiers.items():
            unused = "" if name in used else " (unused: no rule tells it)"
            print(f"[notifiers.{name}] {n.describe()}, timeout {n.timeout:g} s, {counted(n.attempts, 'attempt')}{unused}")
    return 0


def run_notify(args: argparse.Namespace) -> int:
    config = common.load_config(args)
    if args.notifier not in config.section("notifiers"):
        raise UsageError(f"no [notifiers.{args.notifier}] in the config")
    notifier = load_notifiers(config, {args.notifier})[args.notifier]
    now = time.time()
    end = int(now) // 60 * 60
    firing = Firing(
        rule="flowtui-test",
        group={"src_addr": "192.0.2.1"},
        value=1,
        window_start=end - 300,
        window_end=end,
        fired_at=now,
        condition="count > 0",
        query="*",
        flows=1,
    )
    try:
        notifier.send(firing)
    except DeliveryError as exc:
        print(f"flowtui: {args.notifier} ({notifier.describe()}): {exc}", file=sys.stderr)
        return 1
    print(f"sent a test alert through {args.notifier} ({notifier.describe()})")
    return 0


# --- output helpers ----------------------------------------------------------------------------------


def _json(f: Firing, mute_until: float | None) -> dict[str, Any]:
    """The firing; ``muted_until``: the mute it fired under (nobody was told), ``muted_now_until``:
    the end of the mute that covers its group now (None: none), as the state column says."""
    out = f.to_json()
    out["acknowledged"] = f.acknowledged
    out["muted_until"] = f.muted_until
    out["muted_now_until"] = mute_until
    return out


def _window_text(f: Firing) -> str:
    start, end = _utc(f.window_start), _utc(f.window_end)
    if start[:10] == end[:10]:
        return f"{start[5:16]}–{end[11:16]}"
    return f"{start[5:16]}–{end[5:16]}"


def _utc_short(t: float, now: float) -> str:
    """hh:mm (UTC) for a time later today, as the dashboard's state column; else with its month and day."""
    text = _utc(t)
    return text[11:16] if text[:10] == _utc(now)[:10] else text[5:16]


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
