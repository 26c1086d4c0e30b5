"""Alerts: rules evaluated as flows arrive, firings kept in the store, notifiers told in the background.

The pieces, in the order data meets them:

* :mod:`~flowtui.alerts.rules` - ``[[alerts]]`` tables → :class:`Rule` (checked at load).
* :mod:`~flowtui.alerts.reader` - a rule's matching flows, new ones by id or a window by time
  (:mod:`~flowtui.alerts.lookups` keeps its interned-table lookups up to date incrementally).
* :mod:`~flowtui.alerts.window` - per-rule sliding windows, per group, in time buckets.
* :mod:`~flowtui.alerts.evaluator` - the store listener that ties them together and fires.
* :mod:`~flowtui.alerts.firings` - the ``alerts`` and ``alert_mutes`` tables.
* :mod:`~flowtui.alerts.notifiers` and :mod:`~flowtui.alerts.delivery` - Slack, e-mail,
  webhook, command; queues, retries, status rows.

A writer turns alerts on with :func:`attach` (or :func:`alerts_for_store`,
the factory ``flowtui tail`` hands its writer thread). Readers (the CLI, the
dashboard) use :class:`AlertLog` on any store.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flowtui.alerts.delivery import Dispatcher
from flowtui.alerts.evaluator import AlertEvaluator, WindowResult, evaluate_window
from flowtui.alerts.firings import AlertLog, Firing
from flowtui.alerts.notifiers import Notifier, load_notifiers, redact_url
from flowtui.alerts.rules import Rule, load_rules
from flowtui.config import Config
from flowtui.errors import ConfigError
from flowtui.store import Store


def load(config: Config, environ: Mapping[str, str] | None = None) -> tuple[list[Rule], dict[str, Notifier]]:
    """The enabled rules and the notifiers they use; a ConfigError for anything wrong in either."""
    rules = load_rules(config)
    where = str(config.path) if config.path else "config"
    configured = set(config.section("notifiers"))
    for rule in rules:
        for name in rule.notifiers:
            if name not in configured:
                raise ConfigError(f"{where}: [[alerts]] {rule.name!r}: no [notifiers.{name}] table")
    wanted = {n for r in rules for n in r.notifiers}
    return rules, load_notifiers(config, wanted, environ)


def attach(
    store: Store, config: Config, environ: Mapping[str, str] | None = None, log_level: int = logging.INFO
) -> AlertEvaluator | None:
    """Evaluate ``config``'s rules on every write to ``store``; None when it has none.

    Call from the thread that writes; ``close()`` the result when done. Each
    firing is logged (``flowtui.alerts``) at ``log_level``.
    """
    rules, notifiers = load(config, environ)
    if not rules:
        return None
    dispatcher = Dispatcher(notifiers, store.path) if notifiers else None
    return AlertEvaluator(store, rules, dispatcher, log_level=log_level).start()


def alerts_for_store(config_path: str | os.PathLike[str] | None, store: Store) -> AlertEvaluator | None:
    """:func:`attach` with the config file at ``config_path`` (the default one when None)."""
    return attach(store, Config.load(config_path))


def attach_config(store: Store, data: Mapping[str, Any] | None) -> AlertEvaluator | None:
    """:func:`attach` with config data from :func:`alert_config`; None means the example rules
    (:data:`~flowtui.alerts.defaults.DEFAULT_RULES`, telling nobody), which the demo runs.
    Firings are logged at debug level only: the demo's output is its summary line."""
    if data is None:
        from flowtui.alerts.defaults import DEFAULT_RULES

        data = {"alerts": [dict(r) for r in DEFAULT_RULES]}
    return attach(store, Config(dict(data)), log_level=logging.DEBUG)


def alert_config(config: Config) -> dict[str, Any] | None:
    """The ``[[alerts]]`` and ``[notifiers]`` of ``config`` as plain data (for a job pickled into
    another process); None when it has no rules."""
    rules = config.tables("alerts")
    if not rules:
        return None
    return {"alerts": rules, "notifiers": config.section("notifiers")}


__all__ = [
    "AlertEvaluator",
    "AlertLog",
    "Dispatcher",
    "Firing",
    "Notifier",
    "Rule",
    "WindowResult",
    "alert_config",
    "alerts_for_store",
    "attach",
    "attach_config",
    "evaluate_window",
    "load",
    "load_rules",
    "redact_url",
]
