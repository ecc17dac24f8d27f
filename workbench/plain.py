"""Plain Python data from whatever pandas and numpy hand back: the one converter; and plain
data as YAML a person reads."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ["plain", "yaml_text"]


def plain(value: Any) -> Any:
    """``value`` as plain data: numpy scalars as Python numbers, NaN and missing values as None,
    arrays (a Parquet list cell, even of one item) as lists, lists and tuples item by item,
    mappings as dicts with text keys; anything else as it is."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if getattr(value, "ndim", 0) >= 1 and hasattr(value, "tolist"):
        return [plain(v) for v in value.tolist()]
    if _missing(value):
        return None
    if hasattr(value, "item") and not isinstance(value, bytes):
        try:
            return plain(value.item())
        except (ValueError, AttributeError):
            return value
    return value


def _missing(value: Any) -> bool:
    """pandas' NA and NaT (without importing pandas)."""
    name = type(value).__name__
    return name in ("NAType", "NaTType")


class _Dumper(yaml.SafeDumper):
    """Block style for text of several lines, so prompts read as written."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    block = "\n" in value and not any(line != line.rstrip() for line in value.split("\n"))
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if block else None)


_Dumper.add_representer(str, _text)


def yaml_text(data: Any) -> str:
    """``data`` as YAML: keys in their order, text of several lines as ``|`` blocks."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
