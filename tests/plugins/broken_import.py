"""Importing this plugin fails (its dependency is missing)."""

import divtools_dependency_that_does_not_exist  # noqa: F401
