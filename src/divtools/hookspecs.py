"""Every divtools hook. A plugin implements any of them with ``@divtools.hookimpl``.

Each registration hook receives a :class:`~divtools.registry.Register` bound to one component
kind and to the calling plugin, so every registered component knows its plugin and version.
Registration hooks fire once, when plugins load (the first time a registry is needed); the
registries are frozen afterwards. ``pm.check_pending()`` runs after loading, so a misspelt hook
name rejects the plugin with an error that names it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    import click

    from divtools.registry import Register

__all__ = ["hookspec", "hookimpl", "HOOK_KINDS"]

hookspec = pluggy.HookspecMarker("divtools")
hookimpl = pluggy.HookimplMarker("divtools")

#: registration hook name -> component kind it fills
HOOK_KINDS: dict[str, str] = {
    "divtools_register_embedders": "embedder",
    "divtools_register_metrics": "metric",
    "divtools_register_scorers": "scorer",
    "divtools_register_pair_builders": "pair_builder",
    "divtools_register_objectives": "objective",
    "divtools_register_sources": "source",
    "divtools_register_backends": "backend",
    "divtools_register_reporters": "reporter",
    "divtools_register_equivalences": "equivalence",
}


@hookspec
def divtools_register_embedders(register: Register) -> None:
    """Register embedders: texts -> L2-normalised float32 vectors (:class:`divtools.api.Embedder`).

    :param register: call ``register(name, params=ParamsModel, impl=factory_or_"module:attr")``.
    """


@hookspec
def divtools_register_metrics(register: Register) -> None:
    """Register metrics: one group of texts -> per-text deviation and group diversity
    (:class:`divtools.api.Metric`).

    :param register: call ``register(name, params=ParamsModel, impl=...)``.
    """


@hookspec
def divtools_register_scorers(register: Register) -> None:
    """Register quality scorers: (prompt, response) -> float (:class:`divtools.api.Scorer`).

    :param register: call ``register(name, params=ParamsModel, impl=...)``.
    """


@hookspec
def divtools_register_pair_builders(register: Register) -> None:
    """Register pair builders: scored groups -> (prompt, chosen, rejected) rows
    (:class:`divtools.api.PairBuilder`).

    :param register: call ``register(name, params=ParamsModel, impl=...)``.
    """


@hookspec
def divtools_register_objectives(register: Register) -> None:
    """Register preference objectives: per-example losses on log-probabilities. The
    implementation must build a :class:`divtools.PreferenceObjective` (the trainer needs its
    declarations, ``compute`` and ``check_dataset``; docs/plugins.md has a complete one).

    :param register: call ``register(name, params=ParamsModel, impl=...)``.
    """


@hookspec
def divtools_register_sources(register: Register) -> None:
    """Register data sources: files or datasets -> groups of scored responses per prompt
    (:class:`divtools.api.Source`).

    :param register: call ``register(name, params=ParamsModel, impl=...)``.
    """


@hookspec
def divtools_register_backends(register: Register) -> None:
    """Register generation backends: prompts -> K sampled responses each
    (:class:`divtools.api.Backend`).

    :param register: call ``register(name, params=ParamsModel, impl=...)``.
    """


@hookspec
def divtools_register_reporters(register: Register) -> None:
    """Register report writers: an evaluation report -> files in the output directory
    (:class:`divtools.api.Reporter`).

    :param register: call ``register(name, params=ParamsModel, impl=...)``.
    """


@hookspec
def divtools_register_equivalences(register: Register) -> None:
    """Register equivalence tests: are two responses to a prompt functionally the same?
    (:class:`divtools.api.Equivalence`; the partition behind ``distinct_k`` and ``utility_k``).

    :param register: call ``register(name, params=ParamsModel, impl=...)``.
    """


@hookspec
def divtools_register_commands(cli: click.Group) -> None:
    """Add commands to the ``divtools`` command line.

    Fires when the CLI starts, after the built-in commands exist.

    :param cli: the top-level ``click.Group``; use ``@cli.command()`` to add a command.
    """
