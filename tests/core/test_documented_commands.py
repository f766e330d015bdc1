"""Every command shown in README.md and docs/ exists, with the options it is shown with."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from divtools.cli.main import cli

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _shown_commands():
    for doc in DOCS:
        if doc.name == "cli.md":  # generated from --help itself
            continue
        for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", doc.read_text(), flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" #")[0].strip()
                if line.startswith(("divtools ", "make ", "accelerate launch")):
                    yield doc.name, line


SHOWN = list(_shown_commands())


def test_the_docs_show_commands():
    assert any(line.startswith("divtools run") for _, line in SHOWN)
    assert any(line == "make quickstart" for _, line in SHOWN)


@pytest.mark.parametrize("doc,line", SHOWN, ids=[f"{d}:{line[:40]}" for d, line in SHOWN])
def test_shown_command_exists(doc, line):
    words = shlex.split(line)
    if words[0] == "make":
        targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), flags=re.M))
        assert set(words[1:]) <= targets, f"{doc}: make target missing in {line}"
        return
    if words[0] == "accelerate":
        assert "-m" in words and words[words.index("-m") + 1] == "divtools.cli.main", line
        words = ["divtools", *words[words.index("-m") + 2:]]
    command: click.Command = cli
    args = words[1:]
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        assert args[0] in command.commands, f"{doc}: no command '{args[0]}' in: {line}"
        command = command.commands[args[0]]
        args = args[1:]
    options = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}
    if command is cli:
        options |= {"--version"}
    for word in args:
        if word.startswith("-"):
            assert word.split("=")[0] in options, f"{doc}: unknown option {word} in: {line}"
