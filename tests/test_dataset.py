"""Dataset reading, validation, ids and fingerprints."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from workbench.data import Dataset
from workbench.errors import DatasetError


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# -- formats ------------------------------------------------------------------------------


def test_csv_values_stay_text(tmp_path: Path) -> None:
    p = write(tmp_path / "q.csv", "code,n,empty\n007,1.50,\nabc,2,x\n")
    ds = Dataset.from_file(p)
    assert ds.columns == ["code", "n", "empty"]
    assert ds.rows == [
        {"code": "007", "n": "1.50", "empty": ""},
        {"code": "abc", "n": "2", "empty": "x"},
    ]
    assert ds.name == "q"
    assert ds.path == p
    assert len(ds) == 2
    assert list(ds) == ds.rows


def test_csv_na_like_strings_are_not_missing(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path / "q.csv", "a,b\nNA,null\nNaN,None\n"))
    assert ds.rows == [{"a": "NA", "b": "null"}, {"a": "NaN", "b": "None"}]


def test_csv_quoted_field_with_separator_and_newline(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path / "q.csv", 'q,a\n"Paris, France","line1\nline2"\n'))
    assert ds.rows == [{"q": "Paris, France", "a": "line1\nline2"}]


def test_tsv(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path / "q.tsv", "q\ta\nx, y\t007\n"))
    assert ds.rows == [{"q": "x, y", "a": "007"}]


def test_jsonl_keeps_json_types_and_skips_blank_lines(tmp_path: Path) -> None:
    text = '{"q": "a", "n": 1}\n\n{"q": "b", "n": 2, "extra": [1, 2]}\n'
    ds = Dataset.from_file(write(tmp_path / "q.jsonl", text))
    assert ds.columns == ["q", "n", "extra"]
    assert ds.rows[0] == {"q": "a", "n": 1, "extra": None}
    assert ds.rows[1] == {"q": "b", "n": 2, "extra": [1, 2]}
    assert isinstance(ds.rows[0]["n"], int)


def test_ndjson_suffix(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path / "q.ndjson", '{"q": "a"}\n'))
    assert ds.rows == [{"q": "a"}]


def test_json_list_of_objects(tmp_path: Path) -> None:
    p = write(tmp_path / "q.json", json.dumps([{"q": "a", "x": 1.5}, {"q": "b", "x": 2.5}]))
    ds = Dataset.from_file(p)
    assert ds.rows == [{"q": "a", "x": 1.5}, {"q": "b", "x": 2.5}]


def test_json_not_a_list_of_objects(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="list of objects"):
        Dataset.from_file(write(tmp_path / "q.json", '{"q": "a"}'))


def test_json_syntax_error_names_line(tmp_path: Path) -> None:
    p = write(tmp_path / "q.json", '[\n{"q": "a"},\n{"q": }\n]')
    with pytest.raises(DatasetError, match=r"q\.json, line 3"):
        Dataset.from_file(p)


def test_parquet_roundtrip(tmp_path: Path) -> None:
    p = tmp_path / "q.parquet"
    pd.DataFrame({"q": ["a", "b"], "n": [1, 2]}).to_parquet(p, index=False)
    ds = Dataset.from_file(p)
    assert ds.rows == [{"q": "a", "n": 1}, {"q": "b", "n": 2}]
    assert all(type(r["n"]) is int for r in ds.rows)  # numpy scalars made Python


def test_bad_parquet_file(tmp_path: Path) -> None:
    p = write(tmp_path / "q.parquet", "not parquet at all")
    with pytest.raises(DatasetError, match=r"q\.parquet: not a readable Parquet file"):
        Dataset.from_file(p)


def test_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"unknown dataset format '\.xlsx'"):
        Dataset.from_file(write(tmp_path / "q.xlsx", "x"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"not found: .*nope\.csv"):
        Dataset.from_file(tmp_path / "nope.csv")


def test_not_a_dataframe() -> None:
    with pytest.raises(DatasetError, match="from_file"):
        Dataset([{"q": "a"}])  # type: ignore[arg-type]


# -- ids ------------------------------------------------------------------------------------


def test_row_ids_default_to_position() -> None:
    ds = Dataset(pd.DataFrame({"q": ["a", "b", "c"]}))
    assert ds.id_column is None
    assert ds.row_ids == ["0", "1", "2"]


def test_id_column_named_id_is_used(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path / "q.csv", "id,q\nfr,a\n007,b\n"))
    assert ds.id_column == "id"
    assert ds.row_ids == ["fr", "007"]


def test_explicit_id_column(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path / "q.csv", "key,q\nk1,a\nk2,b\n"), id_column="key")
    assert ds.row_ids == ["k1", "k2"]


def test_id_column_not_a_column(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"id_column 'key' is not a column; columns: \['q'\]"):
        Dataset.from_file(write(tmp_path / "q.csv", "q\na\n"), id_column="key")


def test_duplicate_ids(tmp_path: Path) -> None:
    p = write(tmp_path / "q.csv", "id,q\nx,a\ny,b\nx,c\n")
    with pytest.raises(DatasetError, match=r"q\.csv: id column 'id' has duplicate values \['x'\]"):
        Dataset.from_file(p)


def test_duplicate_ids_after_text_conversion() -> None:
    # 1 and "1" are the same row id once made text.
    with pytest.raises(DatasetError, match="duplicate values"):
        Dataset(pd.DataFrame({"id": [1, "1"], "q": ["a", "b"]}))


def test_duplicate_and_blank_column_names() -> None:
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DatasetError, match=r"duplicate column name\(s\) \['a'\]"):
        Dataset(df)
    with pytest.raises(DatasetError, match="column names must be non-empty text"):
        Dataset(pd.DataFrame([[1]], columns=[" "]))


def test_index_is_reset() -> None:
    df = pd.DataFrame({"q": ["a", "b"]}, index=[10, 20])
    ds = Dataset(df)
    assert list(ds.df.index) == [0, 1]
    assert ds.row_ids == ["0", "1"]


# -- empty and malformed ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\n", "q,a\n"])
def test_empty_or_header_only_csv(tmp_path: Path, text: str) -> None:
    p = write(tmp_path / "q.csv", text)
    with pytest.raises(DatasetError, match=r"q\.csv"):
        Dataset.from_file(p)


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_empty_jsonl(tmp_path: Path, text: str) -> None:
    with pytest.raises(DatasetError, match=r"q\.jsonl has no rows"):
        Dataset.from_file(write(tmp_path / "q.jsonl", text))


def test_empty_json_list(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no rows"):
        Dataset.from_file(write(tmp_path / "q.json", "[]"))


def test_empty_dataframe() -> None:
    with pytest.raises(DatasetError, match="has no rows"):
        Dataset(pd.DataFrame({"q": []}), name="mine")


def test_csv_wrong_field_count_names_file_and_line(tmp_path: Path) -> None:
    p = write(tmp_path / "q.csv", "q,a\nx,1\ny,2,3\n")
    with pytest.raises(DatasetError) as info:
        Dataset.from_file(p)
    message = str(info.value)
    assert "q.csv, line 3" in message
    assert "expected 2 fields (q, a), found 3" in message


def test_csv_too_few_fields(tmp_path: Path) -> None:
    p = write(tmp_path / "q.csv", "q,a,b\nx,1,2\ny\n")
    with pytest.raises(DatasetError, match=r"line 3: expected 3 fields .*found 1"):
        Dataset.from_file(p)


def test_tsv_wrong_field_count_suggests_quoting_tabs(tmp_path: Path) -> None:
    p = write(tmp_path / "q.tsv", "q\ta\nx\t1\t2\n")
    with pytest.raises(
        DatasetError, match=r"q\.tsv, line 2: .*Quote values that contain the separator \(tab\)"
    ):
        Dataset.from_file(p)


def test_jsonl_malformed_line(tmp_path: Path) -> None:
    p = write(tmp_path / "q.jsonl", '{"q": "a"}\n{"q": "b"}\n{"q": \n')
    with pytest.raises(DatasetError, match=r"q\.jsonl, line 3: not valid JSON"):
        Dataset.from_file(p)


def test_jsonl_line_not_an_object(tmp_path: Path) -> None:
    p = write(tmp_path / "q.jsonl", '{"q": "a"}\n[1, 2]\n')
    with pytest.raises(DatasetError, match=r"q\.jsonl, line 2: each line must be a JSON object"):
        Dataset.from_file(p)


# -- encodings --------------------------------------------------------------------------


def test_non_utf8_names_line_and_suggests_encoding(tmp_path: Path) -> None:
    p = write(tmp_path / "q.csv", "q,a\nabc,1\ncafé,2\n", encoding="latin-1")
    with pytest.raises(DatasetError) as info:
        Dataset.from_file(p)
    message = str(info.value)
    assert "q.csv" in message
    assert "line 3" in message
    assert "0xe9" in message
    assert "encoding='latin-1'" in message


def test_non_utf8_jsonl(tmp_path: Path) -> None:
    p = write(tmp_path / "q.jsonl", '{"q": "naïve"}\n', encoding="latin-1")
    with pytest.raises(DatasetError, match=r"line 1.*encoding="):
        Dataset.from_file(p)


def test_latin1_encoding_reads(tmp_path: Path) -> None:
    p = write(tmp_path / "q.csv", "q,a\ncafé,2\n", encoding="latin-1")
    ds = Dataset.from_file(p, encoding="latin-1")
    assert ds.rows == [{"q": "café", "a": "2"}]


def test_utf8_non_ascii(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path / "q.csv", "q\n東京\n"))
    assert ds.rows == [{"q": "東京"}]


# -- fingerprint and missing values -----------------------------------------------------


def test_fingerprint_stable_and_sensitive(tmp_path: Path) -> None:
    a = Dataset.from_file(write(tmp_path / "a.csv", "q,a\nx,1\ny,2\n"))
    b = Dataset.from_file(write(tmp_path / "b.csv", "q,a\nx,1\ny,2\n"))
    changed = Dataset.from_file(write(tmp_path / "c.csv", "q,a\nx,1\ny,3\n"))
    renamed = Dataset.from_file(write(tmp_path / "d.csv", "q,b\nx,1\ny,2\n"))
    assert a.fingerprint == b.fingerprint  # same content, other file name
    assert len(a.fingerprint) == 64
    assert a.fingerprint != changed.fingerprint
    assert a.fingerprint != renamed.fingerprint


def test_fingerprint_distinguishes_text_from_number() -> None:
    text = Dataset(pd.DataFrame({"q": ["7"]}))
    number = Dataset(pd.DataFrame({"q": [7]}))
    assert text.fingerprint != number.fingerprint


def test_nan_becomes_none() -> None:
    ds = Dataset(pd.DataFrame({"q": ["a", "b"], "x": [1.5, float("nan")]}))
    assert ds.rows == [{"q": "a", "x": 1.5}, {"q": "b", "x": None}]


def test_nan_in_jsonl_missing_key_becomes_none(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path / "q.jsonl", '{"q": "a", "x": 1.5}\n{"q": "b"}\n'))
    assert ds.rows[1]["x"] is None
    assert not any(isinstance(v, float) and math.isnan(v) for r in ds.rows for v in r.values())


def test_describe_source_and_repr(tmp_path: Path) -> None:
    p = write(tmp_path / "q.csv", "q\na\n")
    ds = Dataset.from_file(p)
    assert ds.describe_source() == str(p)
    assert Dataset(pd.DataFrame({"q": ["a"]}), name="mine").describe_source() == "dataset 'mine'"
    assert repr(ds) == "<Dataset 'q': 1 row, columns ['q'], read as CSV ',' utf-8>"
