"""Notebooks: provenance of every run made in them, and starter notebooks.

A run made in a Jupyter kernel leaves a small output whose metadata (``"workbench"``) records the
workbench version, experiment and run ids, dataset fingerprint, models and variants; saving the
notebook keeps it. :func:`read_provenance` collects those records with nbformat and
:func:`stamp_notebook` also writes them into the notebook's own metadata (``workbench notebook
provenance NB.ipynb --write``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import WorkbenchError
from workbench.version import __version__

if TYPE_CHECKING:
    from workbench.run_results import Results

__all__ = ["new_notebook", "provenance", "read_provenance", "show_provenance", "stamp_notebook"]

KEY = "workbench"


def _nbformat() -> Any:
    import nbformat  # untyped; imported when used so `import workbench` stays light

    return nbformat


def provenance(res: Results) -> dict[str, Any]:
    """What identifies a run: versions, ids, dataset fingerprint, models and variants."""
    record = res.record
    return {
        "workbench_version": __version__,
        "python": sys.version.split()[0],
        "experiment": record.experiment,
        "run_id": record.run_id,
        "status": record.status,
        "dataset": {
            "path": record.dataset.path,
            "fingerprint": record.dataset.fingerprint,
            "rows": record.dataset.rows,
        },
        "repeats": record.repeats,
        "models": list(record.models),
        "variants": record.variant_names,
        "scorers": list(record.scorer_columns),
        "finished": record.finished,
    }


def show_provenance(res: Results) -> None:
    """In a kernel: display one line whose output metadata carries the run's provenance."""
    from IPython.display import display  # type: ignore[import-not-found,unused-ignore]

    record = provenance(res)
    text = f"workbench {__version__}: run {res.run_id} of '{res.experiment}' ({res.status})"
    display(  # type: ignore[no-untyped-call,unused-ignore]
        {"text/plain": text}, raw=True, metadata={KEY: record}
    )


def read_provenance(path: str | Path) -> list[dict[str, Any]]:
    """Every run recorded in a saved notebook, in cell order."""
    nbformat = _nbformat()

    try:
        nb = nbformat.read(str(path), as_version=4)
    except (OSError, ValueError) as exc:
        raise WorkbenchError(f"Cannot read notebook {path}: {exc}") from exc
    found: list[dict[str, Any]] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            record = output.get("metadata", {}).get(KEY)
            if isinstance(record, dict) and record not in found:
                found.append(dict(record))
    return found


def stamp_notebook(path: str | Path) -> list[dict[str, Any]]:
    """Write the runs found in a notebook's outputs into its metadata (``metadata.workbench``)."""
    nbformat = _nbformat()

    runs = read_provenance(path)
    nb = nbformat.read(str(path), as_version=4)
    nb.metadata[KEY] = {"workbench_version": __version__, "runs": runs}
    nbformat.write(nb, str(path))
    return runs


_STARTER = [
    (
        "markdown",
        "# {title}\n\nVariants side by side on the same rows, scored, with a verdict. "
        "Runs offline on the embedded model; set a provider key and change `model=` to compare "
        "others. Every call is cached in `.workbench/`: rerunning costs nothing.",
    ),
    (
        "code",
        "import pandas as pd\nimport workbench as wb\n\n"
        "ds = wb.Dataset(pd.DataFrame({\n"
        '    "question": ["What is the capital of France?", "What is the capital of Japan?"],\n'
        '    "expected": ["Paris", "Tokyo"],\n}))  # or wb.Dataset.from_file("your.csv")',
    ),
    (
        "code",
        'a = wb.Variant("terse", model="local/smollm2", system="Answer in one word.",\n'
        '               user="{{ question }}", params={"temperature": 0, "max_tokens": 32})\n'
        'b = a.replace(name="friendly", system="Answer briefly and kindly.")\n'
        "wb.budget(a, ds.rows[0])  # how the prompt spends the context window",
    ),
    (
        "code",
        'exp = wb.Experiment("{name}", dataset=ds, variants=[a, b],\n'
        '                    scorers=[wb.scorers.contains("{{ expected }}")], repeats=3)\n'
        "exp.estimate()",
    ),
    ("code", "res = exp.run()\nres"),
    ("code", "print(res.verdict())"),
    (
        "markdown",
        "When a variant wins, ship it with its evidence: "
        '`res.export("friendly", name="{name}", to="prompts/")`, then '
        '`wb.load_prompt("prompts/{name}")` in production.',
    ),
]


def new_notebook(name: str, folder: str | Path = ".") -> Path:
    """Write a starter notebook ``<name>.ipynb``; refuses to overwrite."""
    nbformat = _nbformat()

    stem = name.removesuffix(".ipynb")
    if not stem or any(c in stem for c in '/\\:*?"<>|'):
        raise WorkbenchError(f"Notebook name {name!r}: use letters, digits, '-' or '_'.")
    path = Path(folder) / f"{stem}.ipynb"
    if path.exists():
        raise WorkbenchError(f"{path} exists already; pick another name.")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for kind, text in _STARTER:
        source = text.replace("{title}", stem.replace("-", " ").replace("_", " ").title())
        source = source.replace("{name}", stem)
        cell = (
            nbformat.v4.new_markdown_cell(source)
            if kind == "markdown"
            else nbformat.v4.new_code_cell(source)
        )
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
