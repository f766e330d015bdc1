"""Help pages that do not cut text: command lists show each command's first sentence whole,
wrapped, where click would shorten it to the terminal's width with "..."."""

from __future__ import annotations

import click

__all__ = ["FullHelpGroup"]

#: long enough for any first sentence; click then wraps the column instead of truncating
_NO_LIMIT = 10_000


class FullHelpGroup(click.Group):
    """A group whose ``--help`` lists every command with its full first sentence."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(_NO_LIMIT)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
