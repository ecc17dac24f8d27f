"""CSV files are never read wrong silently: stray quotes, separators, encodings, the summary.

Every file is written byte for byte, as a user's editor or spreadsheet would have saved it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from workbench.data import Dataset
from workbench.errors import DatasetEncodingError, DatasetError

FIX = 'write a quote inside a quoted value as two ("")'


def write(tmp_path: Path, data: bytes, name: str = "q.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path: Path) -> str:
    with pytest.raises(DatasetError) as info:
        Dataset.from_file(path)
    return str(info.value)


# -- stray quotes are refused, naming the line where the quoted value starts -------------------


def test_unclosed_quote_at_end_of_file(tmp_path: Path) -> None:
    p = write(tmp_path, b'q,a\nx,1\n"What is 2+2?,4\nCapital of France?,Paris\n')
    message = refused(p)
    assert message.startswith(f"{p}, line 3: the quote that opens a value here is never closed")
    assert "runs to the end of the file (line 4)" in message
    assert FIX in message


def test_unclosed_quote_in_the_last_row(tmp_path: Path) -> None:
    p = write(tmp_path, b'q,a\nx,1\ny,"2')
    assert refused(p).startswith(f"{p}, line 3: the quote that opens a value here is never closed")


def test_stray_quote_swallowing_one_row_then_taking_its_label(tmp_path: Path) -> None:
    # Read as CSV this is 2 rows, the first with the second's label: 3 rows were meant.
    p = write(tmp_path, b'text,label\n"Is this spam?,yes\nHello friend",no\nWin money,yes\n')
    message = refused(p)
    assert message.startswith(f"{p}, line 2: the quoted value that starts here runs to line 3")
    assert (
        "each of lines 2-3 reads as a row of its own (2 fields): 2 rows would be read as one"
        in (message)
    )
    assert FIX in message


def test_stray_quote_mid_row_swallowing_several_rows(tmp_path: Path) -> None:
    data = b'id,text,label\n1,hi,ham\n2,"Win money,spam\n3,See you,ham\n4,Free prize",spam\n'
    message = refused(write(tmp_path, data))
    assert "line 3: the quoted value that starts here runs to line 5" in message
    assert "3 rows would be read as one" in message


def test_stray_quote_closed_by_a_later_quoted_value(tmp_path: Path) -> None:
    data = b'id,q,a\n1,"What is 2+2?,4\n2,Capital?,Paris\n3,"Largest planet",Jupiter\n'
    message = refused(write(tmp_path, data))
    assert "line 2: the quoted value that starts here ends at a quote on line 4" in message
    assert "followed by 'Largest planet\",Jupi' instead of ',' or the end of the line" in message


def test_unescaped_quote_inside_a_quoted_value(tmp_path: Path) -> None:
    message = refused(write(tmp_path, b'q,a\nx,1\n"He said "hi" there",no\n'))
    assert "line 3: the quoted value that starts here ends at a quote on line 3" in message
    assert FIX in message


def test_quote_inside_an_unquoted_value_is_kept_as_written(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path, b'q,a\nScreen 5" wide,yes\nHe said "hi",no\n'))
    assert ds.rows == [{"q": 'Screen 5" wide', "a": "yes"}, {"q": 'He said "hi"', "a": "no"}]


def test_quote_inside_an_unquoted_value_with_a_comma(tmp_path: Path) -> None:
    message = refused(write(tmp_path, b'q,a\nHe said "hi, there",no\n'))
    assert "line 2: expected 2 fields (q, a), found 3" in message
    assert FIX in message


def test_crlf_file_with_unclosed_quote(tmp_path: Path) -> None:
    p = write(tmp_path, b'q,a\r\nx,1\r\n"y,2\r\nz,3\r\n')
    assert refused(p).startswith(f"{p}, line 3: the quote that opens a value here is never closed")


def test_crlf_file_with_stray_quote_swallowing_a_row(tmp_path: Path) -> None:
    p = write(tmp_path, b'text,label\r\n"Is this spam?,yes\r\nHello friend",no\r\nWin,yes\r\n')
    assert "line 2: the quoted value that starts here runs to line 3" in refused(p)


def test_wrong_field_count_in_a_multi_line_row_points_at_the_quote(tmp_path: Path) -> None:
    message = refused(write(tmp_path, b'id,q,a\n1,x,y\n2,"a\nb",c,d\n'))
    assert "the row on lines 3-4 (a quoted value opens on line 3" in message
    assert "expected 3 fields (id, q, a), found 4" in message


# -- legitimate multi-line values load unchanged ----------------------------------------------


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b'id,prompt\n1,"Summarise:\n\nThe cat sat, the dog ran."\n2,x\n', None),
        (b'id,prompt\n1,"Translate:\nGood morning, how are you?"\n2,x\n', None),
        (b'id,prompt\n1,"Dear Sir, I write\nto say, hello,\nand goodbye"\n2,x\n', None),
        (b'id,prompt\n1,"Translate:\nHello,world"\n2,x\n', None),  # 2 lines in the last column
        (b'prompt,expected\n"List:\n- a\n- b",ab\nx,y\n', None),
        (
            b'id,prompt,expected\n1,"Fix this:\n```python\ndef f(a, b):\n    return a - b\n```",'
            b"a + b\n2,x,y\n",
            "Fix this:\n```python\ndef f(a, b):\n    return a - b\n```",
        ),
        (b'q,a\r\n"line1\r\nline2",x\r\ny,z\r\n', "line1\r\nline2"),
        (b'q\n"What is\nthis?"\nx\n', None),  # one column: nothing to tell rows by
        (b'id,prompt\n1,"To JSON:\nname,age\nbob,3"\n2,x\n', None),  # not numbered like the ids
    ],
)
def test_legit_multi_line_values_load(tmp_path: Path, data: bytes, value: str | None) -> None:
    ds = Dataset.from_file(write(tmp_path, data))
    expected = pd.read_csv(write(tmp_path, data, "ref.csv"), dtype=str, keep_default_na=False)
    assert ds.rows == expected.to_dict(orient="records")
    assert len(ds) == 2
    assert ds.multiline_values == 1
    if value is not None:
        assert value in ds.rows[0].values()


def test_swallowed_rows_numbered_like_the_others_are_refused(tmp_path: Path) -> None:
    data = b'id,label\n1,"yes\n2,no\n3,maybe"\n4,no\n'
    assert "line 2: the quoted value that starts here runs to line 4" in refused(
        write(tmp_path, data)
    )


def test_file_whose_rows_write_a_space_after_the_comma(tmp_path: Path) -> None:
    # Its rows look like prose, so only the field counts tell: the stray quote is still found.
    data = b'text,label\n"Is this spam?, yes\nHello friend", no\nWin money, yes\n'
    assert "2 rows would be read as one" in refused(write(tmp_path, data))


def test_doubled_quotes_and_blank_lines_between_rows(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path, b'\nq,a\n"He said ""hi""",1\n\n   \nx,2\n'))
    assert ds.rows == [{"q": 'He said "hi"', "a": "1"}, {"q": "x", "a": "2"}]


def test_duplicate_header_names_are_refused_not_renamed(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"duplicate column name\(s\) \['a'\]"):
        Dataset.from_file(write(tmp_path, b"a,a\n1,2\n"))


# -- separators --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "sep", "shown"),
    [
        (b"question;answer\nParis, France?;Paris\nx;y\n", ";", "';'"),
        (b"question|answer\nParis, France?|Paris\nx|y\n", "|", "'|'"),
        (b"question\tanswer\nParis, France?\tParis\nx\ty\n", "\t", "tab"),
        (b'question,answer\n"a;b",Paris\nx,y\n', ",", "','"),
    ],
)
def test_separator_is_sniffed(tmp_path: Path, data: bytes, sep: str, shown: str) -> None:
    ds = Dataset.from_file(write(tmp_path, data))
    assert ds.columns == ["question", "answer"]
    assert len(ds) == 2
    assert ds.read_as is not None and ds.read_as.sep == sep
    assert repr(ds).endswith(f"read as CSV {shown} utf-8>")


def test_ambiguous_separator_is_comma(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path, b"a,b;c\n1,2;3\n"))
    assert ds.columns == ["a", "b;c"]


def test_tsv_suffix_means_tab(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path, b"q\ta,b\nx\t1,2\n", "q.tsv"))
    assert ds.rows == [{"q": "x", "a,b": "1,2"}]


@pytest.mark.parametrize("sep", [";", "tab", "\\t"])
def test_explicit_separator(tmp_path: Path, sep: str) -> None:
    real = ";" if sep == ";" else "\t"
    data = f"q{real}a\nx, y{real}1\n".encode()
    ds = Dataset.from_file(write(tmp_path, data), sep=sep)
    assert ds.rows == [{"q": "x, y", "a": "1"}]


def test_bad_separator_arguments(tmp_path: Path) -> None:
    p = write(tmp_path, b"q\nx\n")
    with pytest.raises(DatasetError, match="sep must be one character"):
        Dataset.from_file(p, sep=";;")
    jsonl = write(tmp_path, b'{"q": 1}\n', "q.jsonl")
    with pytest.raises(DatasetError, match=r"sep= applies to \.csv and \.tsv files"):
        Dataset.from_file(jsonl, sep=";")


# -- encodings ---------------------------------------------------------------------------------


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path, "\ufeffq,a\ncafé,1\n".encode()))
    assert ds.columns == ["q", "a"]
    assert ds.rows == [{"q": "café", "a": "1"}]


def test_utf8_bom_in_jsonl(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path, '\ufeff{"q": "é"}\n'.encode(), "q.jsonl"))
    assert ds.rows == [{"q": "é"}]
    assert repr(ds).endswith("read as JSONL utf-8>")


def test_utf16_with_bom_reads(tmp_path: Path) -> None:
    ds = Dataset.from_file(write(tmp_path, "q\ta\ncafé\t1\n".encode("utf-16"), "q.tsv"))
    assert ds.rows == [{"q": "café", "a": "1"}]
    assert repr(ds).endswith("read as CSV tab utf-16>")


def test_latin1_file_names_the_python_option(tmp_path: Path) -> None:
    p = write(tmp_path, "q;a\nabc;1\ncafé;2\n".encode("latin-1"))
    with pytest.raises(DatasetEncodingError) as info:
        Dataset.from_file(p)
    assert str(info.value) == (
        f"{p}: not valid utf-8 text (byte 0xe9 on line 3). Re-save the file as UTF-8, or read it "
        f"with Dataset.from_file('{p}', encoding='latin-1')."
    )
    ds = Dataset.from_file(p, encoding="latin-1")
    assert ds.rows == [{"q": "abc", "a": "1"}, {"q": "café", "a": "2"}]
    assert repr(ds).endswith("read as CSV ';' latin-1>")


def test_windows_file_suggests_cp1252(tmp_path: Path) -> None:
    p = write(tmp_path, "q,a\n“quoted” café,1\n".encode("cp1252"))
    with pytest.raises(DatasetEncodingError, match="encoding='cp1252'"):
        Dataset.from_file(p)
    assert Dataset.from_file(p, encoding="cp1252").rows == [{"q": "“quoted” café", "a": "1"}]


def test_unknown_encoding(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown encoding 'latin-9x'"):
        Dataset.from_file(write(tmp_path, b"q\nx\n"), encoding="latin-9x")


# -- the summary --------------------------------------------------------------------------------


def test_summary_counts_rows_and_multi_line_values(tmp_path: Path) -> None:
    data = b'id,question,expected\n1,"Capital of\nFrance?",Paris\n2,x,y\n3,z,w\n'
    ds = Dataset.from_file(write(tmp_path, data, "questions.csv"))
    assert repr(ds) == (
        "<Dataset 'questions': 3 rows (1 multi-line value), columns ['id', 'question', "
        "'expected'], read as CSV ',' utf-8>"
    )


def test_summary_of_a_dataframe_and_of_many_columns() -> None:
    ds = Dataset(pd.DataFrame({f"c{i}": ["a\nb", "c"] for i in range(10)}), name="wide")
    assert repr(ds) == (
        "<Dataset 'wide': 2 rows (10 multi-line values), columns ['c0', 'c1', 'c2', 'c3', 'c4', "
        "'c5', 'c6', 'c7', ... +2 more]>"
    )
