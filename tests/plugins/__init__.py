"""Fixture plugins for the plugin-system tests (loaded with load_plugins(extra=...))."""
