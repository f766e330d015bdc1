"""``divtools``: the command group, user-error handling and plugin commands.

Only light modules load here (click, pydantic, pluggy, yaml); commands import heavy stages
inside their bodies, so ``divtools --help`` and ``divtools validate`` never import torch.
"""

from __future__ import annotations

import sys

import click

from divtools import __version__
from divtools.cli.errors import print_traceback, user_message
from divtools.cli.help import FullHelpGroup
from divtools.errors import EXIT_USER_ERROR
from divtools.redact import redact

__all__ = ["cli", "main"]


class DivtoolsGroup(FullHelpGroup):
    """Turns user errors (and the standard exceptions that are the user's to fix, see
    :mod:`divtools.cli.errors`) into ``FILE: field: message`` on stderr and exit code 2, redacted."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except Exception as exc:
            message = user_message(exc)
            if message is None:
                raise
            click.echo(message, err=True)
            ctx.exit(EXIT_USER_ERROR)


@click.group(cls=DivtoolsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="divtools")
def cli() -> None:
    """Train and evaluate language models that write diverse and good creative text.

    Spec files (YAML or JSON) describe runs: `run: prepare` builds a deviation-weighted
    preference dataset, `run: train` trains (SFT, DPO/DDPO, ORPO/DORPO, DivPO, reward model),
    `run: evaluate` measures diversity and quality. Components come from plugins: see
    `divtools plugins` and `divtools list KIND`.
    """


def _add_commands(group: click.Group) -> None:
    from divtools.cli import (cache, compare, evaluate, human_eval, inspect_cmd, listing, plugins, run, schema,
                              validate, validate_scorer)

    for module in (plugins, listing, validate, schema, run, evaluate, compare, human_eval, cache, inspect_cmd,
                   validate_scorer):
        group.add_command(module.command)


_add_commands(cli)


def _plugin_commands() -> None:
    from divtools.plugins import plugin_set

    try:
        plugin_set().pm.hook.divtools_register_commands(cli=cli)
    except Exception as exc:  # a broken plugin command must not take the CLI down
        click.echo(redact(f"divtools: a plugin failed to add its commands: {exc}"), err=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    _plugin_commands()
    try:
        cli.main(args=argv, prog_name="divtools", standalone_mode=True)
    except Exception as exc:  # a divtools bug: its traceback, redacted, and exit 1
        print_traceback(exc)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
