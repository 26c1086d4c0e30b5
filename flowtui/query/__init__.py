"""Graylog-syntax search over the store: compiler, time windows, engine, completion, history.

Plain Python with no Textual import; the CLI and the dashboard both call it.
"""
