"""The version of workbench (one place; the package and the CLI read it here), and the commit of
the user's code a run or an export was made at."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["__version__", "git_commit"]

__version__ = "0.1.0.dev0"


def git_commit(where: Path) -> str | None:
    """The commit checked out in the git repository around ``where``, if there is one."""
    folder = where.resolve()
    while not folder.exists():
        folder = folder.parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None
