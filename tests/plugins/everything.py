"""A plugin that implements every divtools hook once; the per-hook tests use it."""

from __future__ import annotations

from typing import Literal

import click

from divtools import ComponentParams, MetricParams, ScorerParams, hookimpl


def _params(name: str, base=ComponentParams):
    return type(f"{name.title()}Params", (base,), {"__annotations__": {"kind": Literal[name]}, "kind": name,
                                                    "__doc__": f"fixture {name}"})


PARAMS = {
    "embedder": _params("fx_embedder"),
    "metric": _params("fx_metric", MetricParams),
    "scorer": _params("fx_scorer", ScorerParams),
    "pair_builder": _params("fx_pair_builder"),
    "objective": _params("fx_objective"),
    "source": _params("fx_source"),
    "backend": _params("fx_backend"),
    "reporter": _params("fx_reporter"),
    "equivalence": _params("fx_equivalence"),
}

# the lazy target: listing and validating must never import it
LAZY = "tests.plugins.never_imported:Component"


@hookimpl
def divtools_register_embedders(register):
    register("fx_embedder", params=PARAMS["embedder"], impl=LAZY)


@hookimpl
def divtools_register_metrics(register):
    register("fx_metric", params=PARAMS["metric"], impl=LAZY)


@hookimpl
def divtools_register_scorers(register):
    register("fx_scorer", params=PARAMS["scorer"], impl=LAZY)


@hookimpl
def divtools_register_pair_builders(register):
    register("fx_pair_builder", params=PARAMS["pair_builder"], impl=LAZY)


@hookimpl
def divtools_register_objectives(register):
    register("fx_objective", params=PARAMS["objective"], impl=LAZY)


@hookimpl
def divtools_register_sources(register):
    register("fx_source", params=PARAMS["source"], impl=LAZY)


@hookimpl
def divtools_register_backends(register):
    register("fx_backend", params=PARAMS["backend"], impl=LAZY)


@hookimpl
def divtools_register_reporters(register):
    register("fx_reporter", params=PARAMS["reporter"], impl=LAZY)


@hookimpl
def divtools_register_equivalences(register):
    register("fx_equivalence", params=PARAMS["equivalence"], impl=LAZY)


@hookimpl
def divtools_register_commands(cli):
    @cli.command("fx-hello")
    @click.argument("name")
    def hello(name):
        """Say hello (fixture command)."""
        click.echo(f"hello {name}")
