"""The ``workbench`` command. The only place that turns errors into exit codes.

Exit codes: 0 done; 1 a WorkbenchError (one line on stderr); 2 bad usage; 3 the run stopped at
its budget; 4 ``workbench check`` found a regression (the report names what got worse);
130 interrupted (what finished is saved: run again to resume); 141 the reader of the output
went away (``workbench runs | head``), quietly, as other Unix tools do.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.version import __version__

__all__ = ["main"]

EXIT_ERROR, EXIT_BUDGET, EXIT_REGRESSED, EXIT_INTERRUPTED = 1, 3, 4, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what the shell reports for a writer whose pipe closed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench", description="Prompt experiments: variants × dataset × repeats, scored."
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run an experiment YAML and write its results table")
    run.add_argument("experiment", type=Path, help="experiment .yaml file")
    _output_args(run, default_out="workbench-results")
    run.add_argument("--budget", type=float, metavar="USD", help="stop scheduling at this spend")
    run.add_argument("--estimate", action="store_true", help="only print the estimate; no calls")
    run.add_argument(
        "--batch",
        action="store_true",
        help="send the calls through the providers' batch APIs (about half the price, within "
        "24 hours); providers without one run in real time",
    )
    run.add_argument(
        "--no-wait",
        action="store_true",
        help="with --batch: exit once the batches are submitted; run again to collect them",
    )
    _import_arg(run)

    batches = sub.add_parser(
        "batches", help="provider batches: state, counts, age; wait for one, or cancel one"
    )
    action = batches.add_mutually_exclusive_group()
    action.add_argument(
        "--attach", metavar="ID", help="wait for this batch and save its results to the cache"
    )
    action.add_argument("--cancel", metavar="ID", help="cancel this batch (answers are kept)")
    batches.add_argument("--limit", type=int, default=20, help="newest N (default %(default)s)")

    demo = sub.add_parser("demo", help="run the bundled demo on the embedded model (offline)")
    _output_args(demo, default_out="workbench-demo")
    demo.add_argument("--model", default="local/smollm2", help="model id (default: %(default)s)")
    demo.add_argument(
        "--copy-data",
        nargs="?",
        const=Path("."),
        type=Path,
        metavar="DIR",
        help="only write the demo rows to DIR/questions.csv (default: here), to edit into yours",
    )

    models = sub.add_parser("models", help="list the model catalog: context, max output, prices")
    models.add_argument("--provider", help="only this provider")

    runs = sub.add_parser("runs", help="run history: which prompt version scored what")
    runs.add_argument("experiment", nargs="?", help="only this experiment")
    runs.add_argument("--limit", type=int, default=20, help="newest N runs (default %(default)s)")

    store = sub.add_parser("store", help="inspect the result store")
    store.add_argument("action", choices=["info", "move-aside"])
    _artifact_parsers(sub)
    return parser


def _artifact_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = sub.add_parser(
        "export", help="run an experiment YAML (from cache) and export a variant as a new version"
    )
    export.add_argument("experiment", type=Path, help="experiment .yaml file")
    export.add_argument("--variant", help="variant to export (default: the leader)")
    export.add_argument("--name", required=True, help="prompt name, e.g. capital-answerer")
    export.add_argument("--to", type=Path, default=Path("prompts"), help="folder of prompts")
    export.add_argument("--label", help="point this label (e.g. production) at the new version")
    _import_arg(export)

    listing = sub.add_parser("list", help="exported prompts: versions, labels, headline metric")
    listing.add_argument("root", nargs="?", type=Path, default=Path("prompts"))

    diff = sub.add_parser("diff", help="compare two versions: prompt text, params, metrics")
    diff.add_argument("a", help="e.g. prompts/capital-answerer@1")
    diff.add_argument("b", help="e.g. prompts/capital-answerer@2")

    label = sub.add_parser("label", help="point a label at a version: label prompts/x@2 production")
    label.add_argument("ref", help="e.g. prompts/capital-answerer@2")
    label.add_argument("label", help="e.g. production")

    check = sub.add_parser(
        "check", help="re-run an exported prompt's evaluation; exit 4 when it regressed"
    )
    check.add_argument("ref", help="e.g. prompts/capital-answerer or prompts/x@production")
    check.add_argument("--model", help="run on another model (test a migration)")
    check.add_argument("--dataset", type=Path, help="evaluate on this file instead")
    rule = check.add_mutually_exclusive_group()
    rule.add_argument("--min-pass-rate", type=float, metavar="R", help="primary pass rate >= R")
    rule.add_argument(
        "--no-regression",
        action="store_true",
        help="no scorer below its recorded pass rate (default)",
    )
    check.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="allowed drop for --no-regression (0.05 = 5 points)",
    )
    _import_arg(check)

    notebook = sub.add_parser("notebook", help="starter notebooks and run provenance")
    nb_sub = notebook.add_subparsers(dest="nb_command", required=True)
    new = nb_sub.add_parser("new", help="write a starter notebook NAME.ipynb")
    new.add_argument("name")
    new.add_argument("--folder", type=Path, default=Path("."))
    prov = nb_sub.add_parser("provenance", help="list the runs recorded in a saved notebook")
    prov.add_argument("path", type=Path)
    prov.add_argument("--write", action="store_true", help="also store them in its metadata")


def _import_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import this module first (its @scorer scorers and custom scorer functions); "
        "repeatable; the working folder is on the import path",
    )


def _import_modules(names: Sequence[str]) -> None:
    """Import the user's modules named by ``--import`` (scorers they define become rebuildable)."""
    import importlib

    from workbench.errors import ConfigError

    if names and "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(
                f"--import {name}: {exc} (run from the folder that holds it)."
            ) from exc


def _output_args(p: argparse.ArgumentParser, default_out: str) -> None:
    p.add_argument("--out", type=Path, default=Path(default_out), help="folder for results")
    p.add_argument("--format", choices=["csv", "jsonl", "parquet"], default="csv")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``workbench`` command; returns the exit code."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    return code


def _discard_stdout() -> None:
    """Point stdout at devnull, so the flush at interpreter exit fails no more."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        _import_modules(getattr(args, "imports", []))
        if args.command == "run":
            return _run(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "models":
            return _models(args)
        if args.command in _ARTIFACT_COMMANDS:
            return _ARTIFACT_COMMANDS[args.command](args)
        if args.command == "notebook":
            return _notebook(args)
        if args.command == "runs":
            return _runs(args)
        if args.command == "batches":
            return _batches(args)
        return _store(args)
    except WorkbenchError as exc:
        print(f"workbench: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(
            "workbench: interrupted; finished calls are saved, run again to resume.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


def _notebook(args: argparse.Namespace) -> int:
    from workbench.notebook import new_notebook, read_provenance, stamp_notebook

    if args.nb_command == "new":
        path = new_notebook(args.name, args.folder)
        print(f"Wrote {path}: open it in JupyterLab (`jupyter lab {path}`) and run all cells.")
        return 0
    runs = stamp_notebook(args.path) if args.write else read_provenance(args.path)
    if not runs:
        print(f"{args.path}: no workbench runs recorded (run an experiment in it and save).")
    for run in runs:
        print(
            f"{run.get('run_id')}  {run.get('experiment')}  {run.get('status')}  "
            f"models {', '.join(run.get('models', []))}  dataset "
            f"{str((run.get('dataset') or {}).get('fingerprint', ''))[:12]}"
        )
    return 0


def _run(args: argparse.Namespace) -> int:
    from workbench.data.formats import require_format
    from workbench.experiment_file import load_experiment

    require_format(args.format)  # a missing package fails now, not after the calls
    exp = load_experiment(args.experiment)
    settings = exp.settings()
    print(f"Store: {settings.store_path} ({settings.store_origin})")
    print(f"Dataset {exp.dataset.describe_source()}: {exp.dataset.summary()}")
    estimate = exp.estimate()
    print(f"{exp.name}: {estimate}")
    if args.estimate:
        print(estimate.by_variant.to_string(index=False))
        return 0
    if args.no_wait and not args.batch:
        print("workbench: error: --no-wait goes with --batch.", file=sys.stderr)
        return 2
    if not args.batch:
        return _report(exp.run(budget_usd=args.budget), args.out, args.format)
    res = exp.run(budget_usd=args.budget, mode="batch", wait=not args.no_wait)
    from workbench.batch_runs import BatchRun

    if isinstance(res, BatchRun):
        print(f"\n{res!r}\n{res.message}")
        return 0
    return _report(res, args.out, args.format)


def _batches(args: argparse.Namespace) -> int:
    from workbench.batch_runs import attach, batches, cancel, describe
    from workbench.views.progress import TextProgress

    if args.cancel:
        print(f"Cancelling: {describe(cancel(args.cancel))}")
        print("Requests it answered are kept: `workbench batches --attach ID` collects them.")
        return 0
    if args.attach:
        ended = attach(args.attach, progress=TextProgress(f"batch {args.attach}"))
        print(f"Collected into the cache: {describe(ended)}")
        print("Run the experiment again: its answered cells now come from the cache.")
        return 0
    table = batches()
    if table.empty:
        print("No provider batches in the store yet (workbench run --batch makes some).")
        return 0
    from workbench.config import get_settings
    from workbench.engine.store import Store

    with Store(get_settings().store_path) as store:
        for batch in store.batches(limit=max(args.limit, 0)):
            print(describe(batch))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from workbench.data.formats import require_format
    from workbench.demo import copy_data, dataset, demo_experiment

    if args.copy_data is not None:
        path, written = copy_data(args.copy_data)
        rows = dataset()
        print(
            f"{'Wrote' if written else 'Already there, unchanged:'} {path} (the demo's "
            f"{len(rows)} questions; columns {', '.join(rows.columns)}). "
            "Edit it, then read it with wb.Dataset.from_file(...) or name it as `dataset:` "
            "in an experiment YAML."
        )
        return 0
    require_format(args.format)
    exp = demo_experiment(args.model)
    print(
        f"Demo: {len(exp.variants)} prompt variants × {len(exp.dataset)} questions × "
        f"{exp.repeats} repeats on {args.model} (runs offline; no API key needed)."
    )
    print(f"Dataset {exp.dataset.describe_source()}: {exp.dataset.summary()}")
    print(f"Estimate: {exp.estimate()}")
    res = exp.run()
    code = _report(res, args.out, args.format)
    cmd = _command_name()
    print(
        f"\nWhat happened: each variant answered each question {exp.repeats} times on the "
        "embedded model; the 'has_city' scorer checked every answer for the expected city; a "
        "row passes when most of its repeats pass, and the verdict says whether the gap between "
        "the variants is real at this number of rows or could be luck.\n"
        "Where to look next:\n"
        f"  - the results table above, one row per question × variant × repeat (pandas: "
        f"pd.read_csv);\n"
        f"  - `{cmd} demo` again: 0 calls, everything is cached in {res.record.store};\n"
        f"  - `{cmd} runs demo-capitals`: every run so far, and what each prompt version scored;\n"
        "  - notebooks/quickstart.ipynb in JupyterLab for the comparison grid "
        "(pip install 'prompt-workbench[notebook]');\n"
        f"  - your own experiment: `{cmd} demo --copy-data` (the questions as questions.csv), "
        f"`{cmd} notebook new my-prompt`, or a YAML file for `{cmd} run` (see README)."
    )
    if cmd != "workbench":
        print(
            f"  (In a new shell `workbench` alone does not find this one: type `{cmd} ...`, or "
            f"`source {Path(cmd).parent / 'activate'}` once, then `workbench ...`.)"
        )
    return code


def _command_name() -> str:
    """How the user can type this ``workbench`` command in their shell: ``workbench`` when that
    is the one on PATH, else the script's path (relative to here when it is below here)."""
    import os
    import shutil

    script = Path(sys.executable).parent / ("workbench.exe" if os.name == "nt" else "workbench")
    on_path = shutil.which("workbench")
    if not script.is_file() or (on_path and Path(on_path).resolve() == script.resolve()):
        return "workbench"
    try:
        relative = script.relative_to(Path.cwd())
    except ValueError:
        return str(script)
    return str(relative) if relative.parent != Path(".") else f"./{relative}"


def _report(res: object, out: Path, fmt: str) -> int:
    from workbench.run_results import Results

    assert isinstance(res, Results)
    from workbench.views.text import format_leaderboard

    board = res.leaderboard()
    reducer = board["reducer"].iloc[0]
    print(f"\nLeaderboard (repeats of a row reduced by {reducer}):")
    print(format_leaderboard(board, res.scorers))
    if res.scorers:
        print(f"\nVerdict: {res.verdict()}")
    path = res.save(out / f"{res.experiment}-{res.run_id}.{fmt}")
    print(f"\nResults ({len(res.df)} rows, one per row × variant × repeat): {path}")
    if res.status == "budget":
        print(res.message, file=sys.stderr)
        return EXIT_BUDGET
    if res.status == "interrupted":
        print(res.message, file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _models(args: argparse.Namespace) -> int:
    from workbench.models.catalog import all_models, catalog_checked

    rows = [
        m
        for m in all_models().values()
        if not args.provider or m.id.startswith(f"{args.provider}/")
    ]
    print(f"{'model':38} {'context':>10} {'max out':>9} {'$/1M in':>9} {'$/1M out':>9}  as of")
    for m in rows:
        print(
            f"{m.id:38} {_num(m.context_window):>10} {_num(m.max_output):>9} "
            f"{_price(m.input_per_1m):>9} {_price(m.output_per_1m):>9}  {m.as_of or '–'}"
        )
    print(
        f"\nPrices checked {catalog_checked()}; override with wb.models.register(...), "
        f'models: in an experiment YAML, or [models."provider/model"] in workbench.toml.'
    )
    return 0


def _num(v: int | None) -> str:
    return "–" if v is None else f"{v:,}"


def _price(v: float | None) -> str:
    return "–" if v is None else f"{v:g}"


def _runs(args: argparse.Namespace) -> int:
    from workbench.history import runs

    history = runs(args.experiment)
    if history.empty:
        where = f" of '{args.experiment}'" if args.experiment else ""
        print(f"No runs{where} in the store yet.")
        return 0
    for run_id in list(dict.fromkeys(history["run_id"]))[: max(args.limit, 0)]:
        rows = history[history["run_id"] == run_id]
        head = rows.iloc[0]
        cached = "" if _missing(head["cached"]) else f", {int(head['cached'])} cached"
        cells = "" if _missing(head["cells"]) else f"{int(head['cells'])} cells{cached}, "
        spent = 0.0 if _missing(head["spent_usd"]) else float(head["spent_usd"])
        data = "" if _missing(head["dataset"]) else f"  dataset {head['dataset']}"
        kind = "" if head["kind"] == "run" else f" [{head['kind']}]"
        print(
            f"{run_id}  {head['experiment']}  {head['started']:%Y-%m-%d %H:%M} UTC  "
            f"{head['status']}{kind}  ({cells}${spent:.4f}){data}"
        )
        for v in rows.itertuples():
            if _missing(v.variant):
                continue
            score = "no score"
            if not _missing(v.scorer) and not _missing(v.pass_rate):
                score = f"{v.scorer} {v.pass_rate:.2f} [{v.pass_low:.2f}, {v.pass_high:.2f}]"
            print(f"    {v.variant:16} {v.prompt}  {v.model:24} {score}  rows {v.rows}")
    return 0


def _missing(value: object) -> bool:
    """None or NaN (pandas' missing values in an object column)."""
    return value is None or value != value


def _store(args: argparse.Namespace) -> int:
    from workbench.config import get_settings
    from workbench.engine.store import Store, open_readonly

    settings = get_settings()
    path = settings.store_path
    if args.action == "move-aside":
        if not path.exists():
            print(f"No store at {path}.")
            return 0
        print(f"Moved {path} to {Store.move_aside(path)}; the next run starts a fresh store.")
        return 0
    store = open_readonly(path)  # info only reads: it never creates or upgrades a store
    if store is None:
        print(f"No store yet at {path} ({settings.store_origin}); the first run creates it.")
        return 0
    with store:
        runs, count, pending = store.runs(), store.count_responses(), store.pending
    data, wal = Store.disk_usage(path)
    print(f"Store: {path} ({count} cached responses, {len(runs)} runs)")
    print(f"  why this store: {settings.store_origin}")
    print(f"  size on disk: {_size(data + wal)} (file {_size(data)}, write-ahead log {_size(wal)})")
    if pending:
        print(f"  written by an older workbench: upgraded by the next run ({', '.join(pending)})")
    for r in runs[:10]:
        kind = "" if r["kind"] == "run" else f" [{r['kind']}]"
        print(f"  {r['run_id']}  {r['experiment']:24} {r['status']}{kind}")
    return 0


def _size(n: int) -> str:
    """Bytes in words: 980 B, 57.3 kB, 1.2 MB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _export(args: argparse.Namespace) -> int:
    from workbench.artifact.export import export_results
    from workbench.experiment_file import load_experiment
    from workbench.views.progress import TextProgress

    exp = load_experiment(args.experiment)
    # Progress on stderr; finished calls cached; recorded as an export run, not an experiment run.
    res = exp.run(progress=TextProgress(exp.name), kind="export")
    cached = int(res.df["cached"].sum())
    p = export_results(res.table, args.variant, name=args.name, to=args.to, label=args.label)
    print(f"Exported {p.eval['variant']} as {p.name} v{p.version}: {p.path}")
    print(f"({len(res.df)} cells, {cached} from the cache)")
    return 0


def _list(args: argparse.Namespace) -> int:
    from workbench.artifact.diff import list_prompts

    print(list_prompts(args.root))
    return 0


def _diff(args: argparse.Namespace) -> int:
    from workbench.artifact.diff import diff_versions

    print(diff_versions(args.a, args.b))
    return 0


def _label(args: argparse.Namespace) -> int:
    from workbench.artifact.store import resolve, set_label

    ref = resolve(args.ref)
    set_label(ref.prompt_dir, args.label, ref.version)
    print(f"{ref.prompt_dir}@{args.label} -> v{ref.version}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from workbench.checking import run_check
    from workbench.views.progress import TextProgress

    report = run_check(
        args.ref,
        progress=TextProgress(f"check {args.ref}"),
        model=args.model,
        dataset=args.dataset,
        min_pass_rate=args.min_pass_rate,
        tolerance=args.tolerance,
    )
    print(report)
    return EXIT_REGRESSED if report.regressed else 0


_ARTIFACT_COMMANDS = {
    "export": _export,
    "list": _list,
    "diff": _diff,
    "label": _label,
    "check": _check,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
