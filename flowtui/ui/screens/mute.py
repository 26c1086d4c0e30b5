"""``m`` on a firing: silence its rule, or just its group, for a while (or lift a mute)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from flowtui.alerts.firings import Firing
from flowtui.errors import FlowtuiError
from flowtui.query.window import parse_duration
from flowtui.ui.formatting import clean, clock_time
from flowtui.ui.screens.dialogs import _Dialog

MUTE_PRESETS: tuple[tuple[str, int], ...] = (("15m", 900), ("1h", 3600), ("4h", 14400), ("1d", 86400))


@dataclass(frozen=True, slots=True)
class MuteRequest:
    rule: str
    group: dict[str, Any] | None  # None: the whole rule
    seconds: int | None  # None: lift the mute

    def describe(self) -> str:
        """``port-scan for src_addr=203.0.113.9`` or ``port-scan``."""
        if not self.group:
            return self.rule
        return f"{self.rule} for " + " ".join(f"{k}={v}" for k, v in self.group.items())


class MuteScreen(_Dialog):
    """Which scope (this group or the whole rule) and how long; a preset or a typed duration."""

    def __init__(self, firing: Firing, muted_until: float | None) -> None:
        super().__init__(classes="dialog")
        self.firing = firing
        self.muted_until = muted_until

    def compose(self) -> ComposeResult:
        f = self.firing
        with Vertical(classes="dialog-box") as box:
            box.border_title = f"Mute {clean(f.rule)}"
            if self.muted_until is not None:
                until = clock_time(self.muted_until, self.app.now())  # type: ignore[attr-defined]  # as the list says it
                yield Static(Text(f"Muted until {until}: a new mute replaces it."),
                             classes="dialog-query")
            if f.group:
                with RadioSet(id="mute-scope"):
                    yield RadioButton(f"only {clean(f.group_text)}", value=True, id="scope-group")
                    yield RadioButton(f"all of {clean(f.rule)}", id="scope-rule")
            with Horizontal(classes="dialog-buttons"):
                for label, _ in MUTE_PRESETS:
                    yield Button(label, id=f"mute-{label}", variant="primary" if label == "1h" else "default")
                if self.muted_until is not None:
                    yield Button("Unmute", id="mute-lift", variant="warning")
            yield Label("or type a duration: 30m · 2h · 3d")
            yield Input("", placeholder="Enter alone: 1h", id="mute-input")
            yield Static(Text("Firings are still recorded while muted; nobody is told of them.", style="dim"))
            yield Static("", classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one(".dialog-error").display = False
        self.query_one("#mute-input", Input).focus()

    def _group(self) -> dict[str, Any] | None:
        if not self.firing.group:
            return None
        pressed = self.query_one(RadioSet).pressed_button
        return None if pressed is not None and pressed.id == "scope-rule" else dict(self.firing.group)

    @on(Button.Pressed)
    def _preset(self, event: Button.Pressed) -> None:
        name = (event.button.id or "").removeprefix("mute-")
        if name == "lift":
            self.dismiss(MuteRequest(self.firing.rule, self._group(), None))
            return
        for label, seconds in MUTE_PRESETS:
            if label == name:
                self.dismiss(MuteRequest(self.firing.rule, self._group(), seconds))

    @on(Input.Submitted, "#mute-input")
    def _typed(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.dismiss(MuteRequest(self.firing.rule, self._group(), 3600))  # Enter alone: the highlighted 1h
            return
        try:
            seconds = parse_duration(text, "mute for")
        except FlowtuiError as exc:
            self._error(str(exc))
            return
        self.dismiss(MuteRequest(self.firing.rule, self._group(), int(seconds)))
