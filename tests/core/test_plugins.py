"""Plugin loading: built-ins and third-party plugins through the same hooks, failures isolated."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from divtools.plugins import DEFAULT_PLUGINS, load_plugins
from tests.plugins import clash, everything, misspelt, overriding, raising


def test_builtins_register_through_the_same_hooks():
    ps = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""})
    assert [n for n in ps.plugin_names()] == list(DEFAULT_PLUGINS)
    assert ps.registries["metric"].get("distinct_n").plugin == "divtools.builtins.metrics"
    assert ps.registries["metric"].get("distinct_n").plugin_version == __import__("divtools").__version__
    assert ps.failures == []


def test_env_switch_selects_external_plugins():
    none = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""})
    assert "example" not in none.plugin_names()
    only = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": "example"})
    assert "example" in only.plugin_names()
    assert only.registries["metric"].get("length_spread").plugin == "example"
    everything_installed = load_plugins(env={})
    assert "example" in everything_installed.plugin_names()


def test_misspelt_hook_rejects_the_plugin_with_a_clear_error(capsys):
    ps = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}, extra={"misspelt": misspelt})
    assert "misspelt" not in ps.plugin_names()
    (failure,) = ps.failures
    assert failure.name == "misspelt"
    assert "'divtools_register_metric' is not a divtools hook (did you mean 'divtools_register_metrics'?)" in failure.error
    assert "plugin 'misspelt' not loaded" in capsys.readouterr().err
    # the rest still works
    assert "distinct_n" in ps.registries["metric"]


def test_plugin_raising_in_its_hook_is_reported_and_isolated():
    ps = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}, extra={"raising": raising, "everything": everything})
    assert [f.name for f in ps.failures] == ["raising"]
    assert "RuntimeError: model file missing" in ps.failures[0].error
    assert "fx_metric" in ps.registries["metric"]


def test_plugin_failing_to_import_is_reported_by_name():
    ps = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}, extra={"broken": "tests.plugins.broken_import"})
    (failure,) = ps.failures
    assert failure.name == "broken"
    assert "failed to import: ModuleNotFoundError" in failure.error
    assert "divtools_dependency_that_does_not_exist" in failure.error
    assert "broken" not in ps.plugin_names() and "distinct_n" in ps.registries["metric"]


def test_name_clash_is_an_error_naming_both_plugins():
    ps = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}, extra={"clash": clash})
    (failure,) = ps.failures
    assert "divtools.builtins.metrics" in failure.error and "'clash'" in failure.error
    assert ps.registries["metric"].get("distinct_n").plugin == "divtools.builtins.metrics"


def test_explicit_override_replaces_and_is_shown():
    ps = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}, extra={"overriding": overriding})
    item = ps.registries["metric"].get("distinct_n")
    assert item.plugin == "overriding"
    assert item.overrides == f"divtools.builtins.metrics@{__import__('divtools').__version__}"


def test_registries_are_frozen_after_loading():
    from divtools.registry import RegistryError

    ps = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""})
    with pytest.raises(RegistryError, match="frozen"):
        ps.registries["metric"].add(ps.registries["metric"].get("distinct_n"))


def _cli(*args, env_extra=None):
    import os

    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "divtools.cli.main", *args], capture_output=True, text=True, env=env)


def test_example_plugin_listed_by_divtools_plugins_and_list():
    out = _cli("plugins")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["example"]["version"] == "0.1.0"
    assert rows["example"]["hooks"] == ["divtools_register_metrics", "divtools_register_scorers"]
    assert "metric:length_spread" in rows["example"]["components"]
    listed = _cli("list", "metric", "--json")
    names = {r["name"]: r for r in json.loads(listed.stdout)}
    assert names["length_spread"]["plugin"] == "example"
    assert names["distinct_n"]["parameters"][1]["name"] == "n"
    scorers = json.loads(_cli("list", "scorer", "--json").stdout)
    assert "type_token_ratio" in {r["name"] for r in scorers}
