"""Themes: TOML files read into Textual ``Theme`` objects.

The shipped themes live in ``themes/`` at the top of the source tree; the
package reaches them through the ``flowtui/ui/themes`` link, so a checkout, an
editable install and a wheel all read the same files. Users add their own in
``~/.config/flowtui/themes/*.toml`` (same keys), or point ``[ui] theme_dirs``
at other folders.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from textual.theme import Theme

from flowtui.errors import ConfigError

PACKAGED_DIR = Path(__file__).parent / "themes"
DEFAULT_THEME = "flowtui-dark"

# flowtui's own theme variables, with the values a theme that lacks them gets
# (Textual's built-in themes, a user's file written for another version).
VARIABLE_DEFAULTS: dict[str, str] = {
    "reject": "#ff6b6b",
    "threat": "#ff5fd7",
    "fresh": "#2e4a2e",
    "accept": "#6fbf73",
    "internal": "#7aa6c2",
    "external": "#e5b567",
    "muted": "#6b7785",
    "alarm": "#ef5f5f",
    "alarm-foreground": "#101418",
}

_THEME_KEYS = {f.name for f in fields(Theme)}


def user_theme_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "flowtui" / "themes"


def theme_from_mapping(data: dict[str, Any], where: str) -> Theme:
    """A Theme from the keys of a theme file; unknown keys are a ConfigError."""
    unknown = set(data) - _THEME_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown theme keys {', '.join(sorted(unknown))}")
    if "name" not in data or "primary" not in data:
        raise ConfigError(f"{where}: a theme needs at least 'name' and 'primary'")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ConfigError(f"{where}: [variables] must be a table")
    try:
        return Theme(**{**data, "variables": {str(k): str(v) for k, v in variables.items()}})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_theme_file(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read theme {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"theme {path} is not valid TOML: {exc}") from None
    return theme_from_mapping(data, str(path))


def load_themes(extra_dirs: Iterable[Path] = ()) -> dict[str, Theme]:
    """Every theme: the shipped ones, then the user's (a user file may replace a shipped one)."""
    themes: dict[str, Theme] = {}
    for folder in (PACKAGED_DIR, user_theme_dir(), *extra_dirs):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            theme = load_theme_file(path)
            themes[theme.name] = theme
    return themes


def resolve_theme_name(name: str, available: Iterable[str]) -> str:
    """``dark`` → ``flowtui-dark``: the short names of the shipped themes work too."""
    names = set(available)
    for candidate in (name, f"flowtui-{name}"):
        if candidate in names:
            return candidate
    shown = sorted(n.removeprefix("flowtui-") for n in names if n.startswith("flowtui-"))
    raise ConfigError(f"no theme {name!r}: use {', '.join(shown)} or a Textual theme name")
