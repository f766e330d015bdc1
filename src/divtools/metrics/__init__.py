"""Metric implementations (registered by divtools.builtins.metrics)."""
