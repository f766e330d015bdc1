"""One test per hook (test_hook_<name>), enforced by test_docs_hooks.py."""

from __future__ import annotations

import sys

import click
import pytest
from click.testing import CliRunner

from divtools.plugins import load_plugins
from tests.plugins import everything


@pytest.fixture(scope="module")
def loaded():
    sys.modules.pop("tests.plugins.never_imported", None)
    ps = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}, extra={"everything": everything})
    assert ps.failures == []
    return ps


def _check(ps, kind: str) -> None:
    item = ps.registries[kind].get(f"fx_{kind}")
    assert item.plugin == "everything"
    assert item.params is everything.PARAMS[kind]
    assert item.summary == f"fixture fx_{kind}"
    # registering and listing are lazy: the implementation module is still not imported
    assert "tests.plugins.never_imported" not in sys.modules


def test_hook_divtools_register_embedders(loaded):
    _check(loaded, "embedder")


def test_hook_divtools_register_metrics(loaded):
    _check(loaded, "metric")


def test_hook_divtools_register_scorers(loaded):
    _check(loaded, "scorer")


def test_hook_divtools_register_pair_builders(loaded):
    _check(loaded, "pair_builder")


def test_hook_divtools_register_objectives(loaded):
    _check(loaded, "objective")


def test_hook_divtools_register_sources(loaded):
    _check(loaded, "source")


def test_hook_divtools_register_backends(loaded):
    _check(loaded, "backend")


def test_hook_divtools_register_reporters(loaded):
    _check(loaded, "reporter")


def test_hook_divtools_register_equivalences(loaded):
    _check(loaded, "equivalence")
    # a plugin's equivalence test serves the built-in distinct_k like a built-in one
    from divtools.spec.base import ComponentParams

    assert issubclass(loaded.registries["equivalence"].get("unigram").params, ComponentParams)


def test_hook_divtools_register_commands(loaded):
    @click.group()
    def group():
        pass

    loaded.pm.hook.divtools_register_commands(cli=group)
    result = CliRunner().invoke(group, ["fx-hello", "world"])
    assert result.exit_code == 0 and result.output == "hello world\n"


def test_register_refuses_params_without_matching_kind_literal():
    from typing import Literal

    from divtools import ComponentParams, MetricParams, hookimpl

    class Wrong(MetricParams):
        kind: Literal["other"] = "other"

    class NotMetric(ComponentParams):
        kind: Literal["plain"] = "plain"

    class Plugin:
        @hookimpl
        def divtools_register_metrics(self, register):
            register("mine", params=Wrong, impl="x:y")

    class Plugin2:
        @hookimpl
        def divtools_register_metrics(self, register):
            register("plain", params=NotMetric, impl="x:y")

    ps = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}, extra={"wrong": Plugin(), "plain": Plugin2()})
    errors = {f.name: f.error for f in ps.failures}
    assert "needs the field kind: Literal['mine']" in errors["wrong"]
    assert "must subclass divtools.MetricParams" in errors["plain"]
