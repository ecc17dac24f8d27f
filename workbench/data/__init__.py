"""Datasets: a pandas DataFrame of rows, read from CSV, JSONL or Parquet, validated and fingerprinted."""

from workbench.data.dataset import Dataset

__all__ = ["Dataset"]
