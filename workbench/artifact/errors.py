"""The artifact error (kept here so the production loader imports nothing heavy)."""

from __future__ import annotations

from workbench.errors import WorkbenchError

__all__ = ["ArtifactError"]


class ArtifactError(WorkbenchError):
    """An exported prompt is missing, tampered with, of an unknown schema, or cannot be written."""
