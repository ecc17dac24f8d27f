"""Exported prompts: versioned, verifiable artifacts; the light production loader; CI checks.

``res.export("friendly", name="capital-answerer", to="prompts/")`` writes a new version;
``load_prompt("prompts/capital-answerer@production")`` loads and verifies one. This package's
``__init__`` imports only the loader (PyYAML, Jinja2): export, diff and check load on use.
"""

from workbench.artifact.loader import LoadedPrompt, load_prompt
from workbench.errors import ArtifactError

__all__ = ["ArtifactError", "LoadedPrompt", "load_prompt"]
