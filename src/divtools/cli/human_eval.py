"""``divtools human-eval make|serve|analyze|export-potato``: a blinded set-vs-set study."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from divtools.cli.help import FullHelpGroup

__all__ = ["command"]


@click.group("human-eval", cls=FullHelpGroup)
def command() -> None:
    """A blinded human evaluation: which set of stories is more diverse, which holds the best
    story (docs/human-eval.md walks through a study)."""


@command.command("make")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--systems", nargs=2, required=True, help="The two systems to compare (A B), as the run names them.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for items.jsonl and annotate.html (what annotators get).")
@click.option("--key", "key_path", type=click.Path(path_type=Path), default=None,
              help="The hidden key file (default: <out>-key.json next to the folder, not in it).")
@click.option("--k", "k", type=int, default=4, show_default=True, help="Samples per set.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of sides, subsets and order.")
@click.option("--items", "n_items", type=int, default=None, help="Use this many prompts (a seeded draw; default: all).")
@click.option("--repeats", type=int, default=0, show_default=True,
              help="Items shown a second time, sides swapped, to measure consistency.")
@click.option("--force", is_flag=True, help="Replace a key of another study at --key.")
def make(run_dir: Path, systems: tuple[str, str], out_dir: Path, key_path: Path | None, k: int, seed: int,
         n_items: int | None, repeats: int, force: bool) -> None:
    """Blinded items from an evaluate run's output folder (report.json + samples.jsonl)."""
    from divtools.human_eval.items import make_study, write_study

    study = make_study(run_dir, systems[0], systems[1], k=k, seed=seed, n_items=n_items, repeats=repeats)
    key_path = key_path or out_dir.with_name(out_dir.name + "-key.json")
    write_study(study, out_dir, key_path, overwrite=force)
    click.echo(f"{len(study.items)} items ({repeats} repeated) in {out_dir}/items.jsonl and {out_dir}/annotate.html")
    click.echo(f"key (keep it from annotators): {key_path}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@command.command("serve")
@click.argument("items_dir", type=click.Path(path_type=Path))
@click.option("--annotator", "annotators", multiple=True, required=True, help="An annotator id (repeat for each).")
@click.option("--out", "judgements", type=click.Path(path_type=Path), required=True,
              help="The judgements file (JSONL) the answers are collected into.")
@click.option("--port", type=int, default=8765, show_default=True, help="Port on 127.0.0.1 (0: any free one).")
def serve(items_dir: Path, annotators: tuple[str, ...], judgements: Path, port: int) -> None:
    """Serve the annotation page on 127.0.0.1, one link per annotator."""
    from divtools.human_eval.items import read_items
    from divtools.human_eval.server import make_server

    server, links = make_server(read_items(items_dir), judgements, list(annotators), port=port)
    for name, link in links.items():
        click.echo(f"{name}: {link}")
    click.echo(f"collecting into {judgements}; Ctrl-C stops")
    # Ctrl-C and SIGTERM stop it cleanly even when it was started with SIGINT ignored (a process
    # started in the background of a non-interactive shell inherits SIG_IGN, and Python then
    # never raises KeyboardInterrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@command.command("analyze")
@click.argument("judgements", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--key", "key_path", type=click.Path(path_type=Path), required=True, help="The key `make` wrote.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="Write the numbers here (JSON) and a results paragraph next to it (.md).")
def analyze(judgements: tuple[Path, ...], key_path: Path, out_path: Path | None) -> None:
    """Win/tie/loss rates, sign tests, Wilson CIs, agreement, consistency and position bias."""
    from divtools.atomic import write_json, write_text
    from divtools.human_eval.analysis import analyze as run_analysis
    from divtools.human_eval.analysis import read_judgements, results_paragraph
    from divtools.human_eval.items import load_key

    result = run_analysis(read_judgements(list(judgements)), load_key(key_path))
    a, b = result["systems"]["A"], result["systems"]["B"]
    for q, res in result["questions"].items():
        r = res["rates"]
        if not r["n"]:
            continue
        click.echo(f"{q}: {a} {r['wins']} / tie {r['ties']} / {b} {r['losses']} (n = {r['n']}); "
                   f"sign test p = {r['sign_test_p']:.4g}" if r["sign_test_p"] is not None else
                   f"{q}: {a} {r['wins']} / tie {r['ties']} / {b} {r['losses']} (n = {r['n']})")
    paragraph = results_paragraph(result)
    click.echo(paragraph)
    if out_path is not None:
        write_json(out_path, result)
        write_text(out_path.with_suffix(".md"), paragraph + "\n")
        click.echo(f"done: {out_path}")


@command.command("export-potato")
@click.argument("items_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="The Potato project folder.")
def export_potato(items_dir: Path, out_dir: Path) -> None:
    """The items as a Potato project (config.yaml + data/items.jsonl)."""
    from divtools.human_eval.items import read_items
    from divtools.human_eval.potato import export_potato as export

    doc = read_items(items_dir)
    paths = export(doc["study_id"], doc["items"], out_dir)
    click.echo(f"done: {paths[-1]} (potato start {paths[-1]})")

