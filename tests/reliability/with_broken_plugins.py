"""The divtools CLI with two broken fixture plugins installed next to the real ones: one that
fails to import (``tests/plugins/broken_import.py``) and one whose hook raises
(``tests/plugins/raising.py``). Run from the repository root: ``python tests/reliability/with_broken_plugins.py ARGS``."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    import divtools.plugins as plugins

    plugins._DEFAULT = plugins.load_plugins(
        extra={"broken": "tests.plugins.broken_import", "raising": "tests.plugins.raising"})
    from divtools.cli.main import main

    main(sys.argv[1:])
