"""The README's fenced code blocks, by section (shared by the README tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


@dataclass(frozen=True)
class Block:
    """One fenced block of the README."""

    section: str
    lang: str
    code: str
    line: int
    """Line of the README where the code starts."""

    @property
    def first(self) -> str:
        return next((ln.strip() for ln in self.code.splitlines() if ln.strip()), "")

    @property
    def where(self) -> str:
        return f"README.md:{self.line} ({self.section}, {self.lang or 'untagged'} block)"


def section_name(heading: str) -> str:
    """``## Set up (two commands, ...)`` -> ``Set up``."""
    return heading.removeprefix("## ").split(" (", 1)[0].strip()


def readme_blocks() -> list[Block]:
    blocks: list[Block] = []
    section, lang, start, body = "", "", 0, None
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if body is None and line.startswith("## "):
            section = section_name(line)
        elif line.startswith("```"):
            if body is None:
                lang, start, body = line[3:].strip(), number + 1, []
            else:
                blocks.append(Block(section, lang, "\n".join(body) + "\n", start))
                body = None
        elif body is not None:
            body.append(line)
    return blocks
