"""`divtools list` shows each parameter's type in words (allowed values spelled out, never a bare
"Literal" or "Union"), its default and its description; component descriptions are whole
sentences; the top-level --help lists every command's first sentence uncut."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from divtools.cli.main import cli
from divtools.plugins import KINDS, registries

RAW_TYPING = re.compile(r"Literal|Union|typing\.|Annotated|ComponentParams|NoneType")


def _list(kind: str, *extra: str) -> str:
    result = CliRunner().invoke(cli, ["list", kind, *extra], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("kind", KINDS)
def test_list_spells_out_types_and_shows_every_description(kind):
    text = _list(kind)
    assert not RAW_TYPING.search(text), RAW_TYPING.search(text)
    flat = _flat(text)
    for info in registries()[kind]:
        assert _flat(info.summary) in flat, info.name
        for name, field in info.params.model_fields.items():
            if name != "kind" and field.description:
                assert _flat(field.description) in flat, f"{info.name}.{name}"


def test_allowed_values_and_defaults_are_listed():
    text = _list("metric")
    assert '- tokenizer: "whitespace" | "space" (default: "whitespace")' in text
    assert "- label: str or null (default: null)" in text
    assert "- embedder: embedder component (see divtools list embedder) (required)" in text
    # a list of sections told apart by `type:` shows what a user writes, not class names
    assert '- criteria: list of {type: "deviation", ...} or {type: "model_probability", ...}' in \
        _flat(_list("pair_builder"))
    rows = {r["name"]: r for r in json.loads(_list("metric", "--json"))}
    tokenizer = next(p for p in rows["distinct_n"]["parameters"] if p["name"] == "tokenizer")
    assert tokenizer["allowed"] == ["whitespace", "space"] and tokenizer["default"] == "whitespace"
    combine = next(p for p in json.loads(_list("pair_builder", "--json"))
                   if p["name"] == "divpo")["parameters"]
    assert next(p for p in combine if p["name"] == "combine")["allowed"] == ["mean_rank", "geometric_minmax"]


def test_component_descriptions_are_whole_paragraphs():
    """The docstring's first paragraph, not its first source line (which stops where it was wrapped)."""
    for registry in registries():
        for info in registry:
            if not info.plugin.startswith("divtools."):
                continue
            first = " ".join(info.description.strip().split("\n\n")[0].split())
            assert info.summary == first
            assert info.summary.endswith((".", ")", "!", "?")), (registry.kind, info.name, info.summary[-50:])
    (multi,) = [i for i in registries()["pair_builder"] if i.name == "divpo"]
    assert "\n" in multi.description.split("\n\n")[0]  # a wrapped first paragraph: the case that was cut
    assert multi.summary.endswith("(rejected).")


def test_top_level_help_does_not_cut_command_descriptions():
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    commands = result.output.split("Commands:")[1]
    assert "..." not in commands
    bare = re.sub(r"\s+", "", commands)  # click may wrap a line at a hyphen
    for name, cmd in cli.commands.items():
        first = cmd.get_short_help_str(10_000)
        assert len(first) > 10 and re.sub(r"\s+", "", f"{name} {first}") in bare, name
    flat = _flat(commands)
    # the case click used to shorten at this width
    assert "Merge report.json files of separate runs (same prompts, same N) into one report." in flat
