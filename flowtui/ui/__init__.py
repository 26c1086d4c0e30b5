"""The terminal UI (Textual). Only this package imports Textual; it calls the core, never the reverse."""
