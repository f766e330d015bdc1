"""Registry behaviour: clashes, overrides, did-you-mean, laziness, freezing."""

from __future__ import annotations

import sys
from typing import Literal

import pytest

from divtools import MetricParams
from divtools.registry import ComponentInfo, Registry, RegistryError, UnknownComponentError, suggest


class P(MetricParams):
    kind: Literal["alpha"] = "alpha"


def info(name="alpha", plugin="one", impl="tests.plugins.never_imported:Component"):
    return ComponentInfo(kind="metric", name=name, params=P, impl=impl, plugin=plugin, plugin_version="1.0")


def test_duplicate_name_raises_and_names_both_plugins():
    reg = Registry("metric")
    reg.add(info(plugin="one"))
    with pytest.raises(RegistryError) as exc:
        reg.add(info(plugin="two"))
    assert "'one'" in str(exc.value) and "'two'" in str(exc.value)


def test_explicit_override_is_recorded():
    reg = Registry("metric")
    reg.add(info(plugin="one"))
    reg.add(info(plugin="two"), override=True)
    assert reg.get("alpha").plugin == "two"
    assert reg.get("alpha").overrides == "one@1.0"


def test_unknown_name_suggests_closest():
    reg = Registry("metric")
    reg.add(info())
    with pytest.raises(UnknownComponentError, match=r"unknown metric 'alhpa' \(did you mean 'alpha'\?\)"):
        reg.get("alhpa")
    assert suggest("zzzz", ["alpha"]) == ""


def test_lazy_impl_imports_only_on_load():
    sys.modules.pop("tests.plugins.never_imported", None)
    item = info()
    reg = Registry("metric")
    reg.add(item)
    assert "tests.plugins.never_imported" not in sys.modules
    component = item.build(P())
    assert "tests.plugins.never_imported" in sys.modules
    assert component.params == P()


def test_bad_lazy_target_is_a_clear_error():
    with pytest.raises(RegistryError, match="has no attribute 'Nope'"):
        info(impl="tests.plugins.never_imported:Nope").load()
    with pytest.raises(RegistryError, match="must be 'module:attribute'"):
        info(impl="tests.plugins.never_imported").load()


def test_frozen_registry_refuses_additions():
    reg = Registry("metric")
    reg.freeze()
    with pytest.raises(RegistryError, match="frozen"):
        reg.add(info())
