"""sepgan.tables: the one Markdown table builder (titles, alignment, number formats, missing cells)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sepgan.tables import Column, MarkdownTable, markdown_table


def test_a_table_of_sequence_rows_with_formats_and_alignment():
    columns = [Column("size"), Column("s/frame", "{:.2f}", "right"), Column("ratio", "{:.2f}×", "right")]
    text = markdown_table(columns, [["720p", 0.4567, 1.0], ["1080p", 1.2, None]], missing="–")
    assert text == (
        "| size | s/frame | ratio |\n|---|---:|---:|\n| 720p | 0.46 | 1.00× |\n| 1080p | 1.20 | – |\n"
    )


def test_mapping_rows_are_read_by_key_and_titles_stand_for_keys():
    columns = [Column("method"), Column("PSNR (dB) ↑", "{:.2f}", "right", key="psnr"), Column("samples")]
    rows = [{"psnr": 30.123, "method": "ours", "samples": 3, "unused": 1}]
    assert markdown_table(columns, rows).splitlines()[2] == "| ours | 30.12 | 3 |"


def test_cells_strings_pass_through_none_is_missing_bools_are_not_numbers():
    table = MarkdownTable([Column("a", "{:.3f}"), Column("b", "{:.3f}"), Column("c", "{:.3f}")])
    assert table.row(["not run", None, True]) == "| not run | n/a | True |"
    assert table.row([2, 0.5, -1.0]) == "| 2.000 | 0.500 | -1.000 |"


def test_a_pipe_inside_a_cell_is_escaped():
    assert MarkdownTable(["name"]).row(["a|b"]) == "| a\\|b |"


def test_bare_titles_make_left_aligned_columns_and_the_header_has_no_trailing_newline():
    table = MarkdownTable(["option", "note"])
    assert table.header() == "| option | note |\n|---|---|"
    assert table.render([]) == "| option | note |\n|---|---|\n"


def test_a_row_of_the_wrong_length_and_an_unknown_alignment_are_errors():
    with pytest.raises(ValueError, match="2 cells in a table of 3 columns"):
        MarkdownTable(["a", "b", "c"]).row(["x", "y"])
    with pytest.raises(ValueError, match="align"):
        Column("a", align="centre")  # type: ignore[arg-type]


def test_importing_the_helper_loads_no_torch():
    code = "import sys, sepgan.tables; print('torch' in sys.modules)"
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert process.stdout.strip() == "False"
