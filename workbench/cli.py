"""The ``workbench`` command. The only place that turns errors into exit codes.

Exit codes (the README has the same table):

=====  ==============================================================================
0      done (``check``: passed — no scorer significantly worse than the margin allows)
1      a WorkbenchError (one line on stderr)
2      bad usage (unknown option, bad value)
3      the run stopped at its budget
4      ``check`` found a regression (significantly worse than the margin allows)
5      ``check`` is inconclusive: the rows cannot tell yet ("inconclusive at n=...")
6      ``check`` could not judge: a provider error (a call failed where the record has an
       answer, or a key is missing); run it again
130    interrupted (what finished is saved: run again to resume)
141    the reader of the output went away (``workbench runs | head``), quietly
=====  ==============================================================================
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
EXIT_INCONCLUSIVE, EXIT_PROVIDER = 5, 6
_CHECK_EXIT = {"pass": 0, "regression": EXIT_REGRESSED, "inconclusive": EXIT_INCONCLUSIVE}
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

    report = sub.add_parser("report", help="write a stored run as one offline HTML file")
    report.add_argument("run", help="a run id from `workbench runs`, latest or previous")
    report.add_argument("--out", type=Path, default=Path("run.html"), help="the .html file")
    report.add_argument("--experiment", help="latest / previous of this experiment")

    diff_runs = sub.add_parser(
        "diff-runs", help="compare two stored runs: paired verdicts for matching variants"
    )
    diff_runs.add_argument("a", help="the earlier run: an id, latest or previous")
    diff_runs.add_argument("b", help="the later run: an id, latest or previous")
    diff_runs.add_argument("--experiment", help="latest / previous of this experiment")

    store = sub.add_parser("store", help="inspect the result store")
    store.add_argument("action", choices=["info", "move-aside"])
    _artifact_parsers(sub)
    _import_parser(sub)
    return parser


def _import_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imp = sub.add_parser(
        "import", help="write an experiment YAML from a promptfoo config or a GitHub Models file"
    )
    imp.add_argument("format", choices=["promptfoo", "github-models"])
    imp.add_argument("source", type=Path, help="promptfooconfig.yaml, or a .prompt.yml file")
    imp.add_argument("--to", type=Path, default=Path("experiment.yaml"), help="YAML to write")
    imp.add_argument("--grader", help="promptfoo: judge model of model-graded assertions")
    imp.add_argument("--embedder", help="promptfoo: embedder of 'similar' assertions")
    imp.add_argument("--force", action="store_true", help="replace files that exist")


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

    _check_parser(sub)

    notebook = sub.add_parser("notebook", help="starter notebooks and run provenance")
    nb_sub = notebook.add_subparsers(dest="nb_command", required=True)
    new = nb_sub.add_parser("new", help="write a starter notebook NAME.ipynb")
    new.add_argument("name")
    new.add_argument("--folder", type=Path, default=Path("."))
    prov = nb_sub.add_parser("provenance", help="list the runs recorded in a saved notebook")
    prov.add_argument("path", type=Path)
    prov.add_argument("--write", action="store_true", help="also store them in its metadata")


def _check_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser(
        "check",
        help="re-run an exported prompt's evaluation and compare it row by row with its record; "
        "exit 0 pass, 4 regression, 5 inconclusive, 6 provider error",
    )
    check.add_argument("ref", help="e.g. prompts/capital-answerer or prompts/x@production")
    check.add_argument("--model", help="run on another model (test a migration)")
    check.add_argument("--dataset", type=Path, help="evaluate on this file instead")
    rule = check.add_mutually_exclusive_group()
    rule.add_argument(
        "--min-pass-rate",
        type=_unit_float,
        metavar="R",
        help="instead: fail only when the first scorer's pass rate is significantly below R",
    )
    rule.add_argument(
        "--no-regression",
        action="store_true",
        help="paired non-inferiority against the record (the default)",
    )
    check.add_argument(
        "--margin",
        type=_margin,
        default=None,
        metavar="M",
        help="how much worse than recorded is still fine: 0.05 = 5 points of pass rate "
        "(default 0.05; for scores without pass/fail, in the scorer's units)",
    )
    check.add_argument("--tolerance", type=_margin, help=argparse.SUPPRESS)  # old name of --margin
    check.add_argument(
        "--sequential",
        action="store_true",
        help="look after 1/4, 1/2, 3/4 of the rows and stop paying once settled "
        "(O'Brien-Fleming-type alpha spending)",
    )
    check.add_argument(
        "--format",
        choices=["text", "json", "junit", "github"],
        default="text",
        help="text (default); json (every number); junit (XML, one testcase per scorer); "
        "github (Markdown step summary, to $GITHUB_STEP_SUMMARY when set)",
    )
    _import_arg(check)


def _unit_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (0.9 = 90%), got {text}")
    return value


def _margin(text: str) -> float:
    value = _unit_float(text)
    if value >= 1.0:
        raise argparse.ArgumentTypeError(f"must be below 1 (0.05 = 5 points), got {text}")
    return value


def _import_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import this module first (its @scorer scorers, custom scorer functions and tool "
        "functions); repeatable; the working folder is on the import path",
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
        if args.command == "report":
            return _write_report(args)
        if args.command == "diff-runs":
            return _diff_runs(args)
        if args.command == "import":
            return _import(args)
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


def _import(args: argparse.Namespace) -> int:
    import warnings

    from workbench.errors import ConfigError, WorkbenchWarning
    from workbench.experiment import Experiment
    from workbench.experiment_file import save_experiment

    if args.format != "promptfoo" and (args.grader or args.embedder):
        raise ConfigError("--grader and --embedder are for promptfoo configs.")
    with warnings.catch_warnings():  # the report below says what was left out
        warnings.simplefilter("ignore", WorkbenchWarning)
        if args.format == "promptfoo":
            exp = Experiment.from_promptfoo(args.source, grader=args.grader, embedder=args.embedder)
        else:
            exp = Experiment.from_github_models(args.source)
    written = save_experiment(exp, args.to, overwrite=args.force)
    scorers = ", ".join(s.name for s in exp.scorers) or "none"
    print(
        f"Imported {args.source}: {len(exp.dataset)} rows × {len(exp.variants)} variants × "
        f"{exp.repeats} repeats; scorers {scorers}."
    )
    print(f"Wrote {', '.join(str(p) for p in written)}; its description:\n")
    print(exp.description + "\n")
    print(
        f"Next: workbench run {args.to} --estimate (what it would cost), then without --estimate."
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
    print(
        f"{'model':30} {'context':>9} {'max out':>8} {'$/1M in':>8} {'cached':>7} {'write':>7} "
        f"{'out':>7} {'batch in/out':>13}  {'retires':10} as of"
    )
    for m in rows:
        batch = (
            f"{_price(m.batch_input_per_1m)}/{_price(m.batch_output_per_1m)}"
            if m.batch_input_per_1m is not None
            else "–"
        )
        print(
            f"{m.id:30} {_num(m.context_window):>9} {_num(m.max_output):>8} "
            f"{_price(m.input_per_1m):>8} {_price(m.cached_input_per_1m):>7} "
            f"{_price(m.cache_write_per_1m):>7} {_price(m.output_per_1m):>7} {batch:>13}  "
            f"{m.retires or '–':10} {m.as_of or '–'}"
        )
    print(
        f"\nUSD per 1M tokens; cached: prompt-cache reads, write: cache writes, batch: the batch / "
        f"flex tier; retires: the provider's retirement date. Prices checked {catalog_checked()}; "
        f"override with wb.models.register(...), models: in an experiment YAML, or "
        f'[models."provider/model"] in workbench.toml.'
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


def _write_report(args: argparse.Namespace) -> int:
    from workbench.report import write_report
    from workbench.results.stored import load_run

    table = load_run(args.run, experiment=args.experiment)
    path = write_report(table, args.out)
    print(
        f"Wrote {path} ({_size(path.stat().st_size)}): run {table.record.run_id} of "
        f"'{table.record.experiment}', one file, opens offline in any browser."
    )
    return 0


def _diff_runs(args: argparse.Namespace) -> int:
    from workbench.analysis.across import compare_runs
    from workbench.results.stored import load_run

    a = load_run(args.a, experiment=args.experiment)
    b = load_run(args.b, experiment=args.experiment)
    print(compare_runs(a, b))
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
    from workbench.artifact.check import DEFAULT_MARGIN
    from workbench.artifact.check_output import as_github, as_json, as_junit
    from workbench.checking import run_check
    from workbench.errors import MissingKeyError, ProviderError
    from workbench.views.progress import TextProgress

    if args.margin is not None and args.tolerance is not None:
        print(
            "workbench: error: give --margin only (--tolerance is its old name).", file=sys.stderr
        )
        return 2
    margin = next((m for m in (args.margin, args.tolerance) if m is not None), DEFAULT_MARGIN)
    try:
        report = run_check(
            args.ref,
            progress=TextProgress(f"check {args.ref}"),
            model=args.model,
            dataset=args.dataset,
            margin=margin,
            min_pass_rate=args.min_pass_rate,
            sequential=args.sequential,
        )
    except (MissingKeyError, ProviderError) as exc:
        print(f"workbench: provider error: {exc}", file=sys.stderr)
        return EXIT_PROVIDER
    if args.format == "json":
        sys.stdout.write(as_json(report))
    elif args.format == "junit":
        sys.stdout.write(as_junit(report))
    elif args.format == "github":
        summary, commands = as_github(report)
        path = os.environ.get("GITHUB_STEP_SUMMARY")
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(summary)
        else:
            sys.stdout.write(summary)
        print("\n".join(commands))
    else:
        print(report)
    return EXIT_PROVIDER if report.status == "error" else _CHECK_EXIT[report.status]


_ARTIFACT_COMMANDS = {
    "export": _export,
    "list": _list,
    "diff": _diff,
    "label": _label,
    "check": _check,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
