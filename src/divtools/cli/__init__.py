"""The ``divtools`` command line: one module per command."""
