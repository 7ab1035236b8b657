"""GitHub Markdown tables: column titles, alignment and number formats in one place.

Every table the project prints or writes (``sepgan evaluate``'s ``table.md``,
``sepgan compare``'s ``results.md``, the benchmarks' figures) is built here::

    table = MarkdownTable([Column("size"), Column("s/frame", "{:.2f}", align="right")])
    print(table.header())                 # | size | s/frame |  then  |---|---:|
    print(table.row(["720p", 0.4567]))    # | 720p | 0.46 |

or all at once with :func:`markdown_table`. A long benchmark prints
:meth:`MarkdownTable.header` first and each :meth:`MarkdownTable.row` as it is
measured, so a run shows its progress.

Cells: a number (``int`` or ``float``, not ``bool``) goes through its column's
``format`` (a :meth:`str.format` pattern such as ``"{:.3f}"``); a string is
written as it is (so a row may say ``"–"`` or ``"not run"`` in a number
column); ``None`` becomes the table's ``missing`` text. A ``|`` inside a cell
is escaped (``\\|``) so it cannot split the cell. Alignment: ``"left"`` writes
``---`` (GitHub's default, left-aligned), ``"right"`` writes ``---:`` (for
figures). Rows are sequences (cells in column order) or mappings read by each
column's ``key``. Pure Python, no imports beyond the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Column", "MarkdownTable", "markdown_table"]

_RULES = {"left": "---", "right": "---:"}


@dataclass(frozen=True)
class Column:
    """One column: its ``title``, the ``format`` of its numbers, its ``align``-ment, and the ``key``
    of its cell in a mapping row (default: the title)."""

    title: str
    format: str = "{}"
    align: Literal["left", "right"] = "left"
    key: str | None = None

    def __post_init__(self) -> None:
        if self.align not in _RULES:
            raise ValueError(f"align must be 'left' or 'right', got {self.align!r}")
        if self.key is None:
            object.__setattr__(self, "key", self.title)  # frozen: set once, here

    def cell(self, value: object, missing: str) -> str:
        """``value`` as this column's text (see the module docstring)."""
        if value is None:
            text = missing
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            text = self.format.format(value)
        else:
            text = str(value)
        return text.replace("|", "\\|")


class MarkdownTable:
    """A Markdown table of ``columns`` (a :class:`Column` or a bare title each); ``missing``: the text
    of a ``None`` cell."""

    def __init__(self, columns: Sequence[Column | str], missing: str = "n/a") -> None:
        self.columns = [column if isinstance(column, Column) else Column(column) for column in columns]
        self.missing = missing

    def header(self) -> str:
        """The title line and the alignment line, joined by a newline (no trailing newline)."""
        titles = "| " + " | ".join(column.title for column in self.columns) + " |"
        rule = "|" + "".join(_RULES[column.align] + "|" for column in self.columns)
        return f"{titles}\n{rule}"

    def row(self, values: Sequence[object] | Mapping[str, object]) -> str:
        """One table line; raises ``ValueError`` when a sequence row has the wrong number of cells."""
        if isinstance(values, Mapping):
            cells = [values[column.key] for column in self.columns]
        else:
            cells = list(values)
            if len(cells) != len(self.columns):
                raise ValueError(f"a row of {len(cells)} cells in a table of {len(self.columns)} columns")
        return (
            "| "
            + " | ".join(c.cell(v, self.missing) for c, v in zip(self.columns, cells, strict=True))
            + " |"
        )

    def render(self, rows: Iterable[Sequence[object] | Mapping[str, object]]) -> str:
        """The whole table, header first, ending with a newline."""
        return "\n".join([self.header(), *(self.row(values) for values in rows)]) + "\n"


def markdown_table(
    columns: Sequence[Column | str],
    rows: Iterable[Sequence[object] | Mapping[str, object]],
    missing: str = "n/a",
) -> str:
    """``MarkdownTable(columns, missing).render(rows)``: the whole table as text, ending with a newline."""
    return MarkdownTable(columns, missing).render(rows)
