"""Accent- and case-insensitive text matching, the same in Python, SQLite and PostgreSQL.

Staff type "leao" for "Leão" and "sao joao" for "SÃO JOÃO". One fixed table of the Latin letters with
diacritics used in Portuguese and Spanish (and their neighbours) folds both the search term and the column:
PostgreSQL runs it with ``translate(lower(...))`` (no ``unaccent`` extension to install), SQLite with the same
table as a Python function registered on the connection (its ``lower`` only knows ASCII). Because all three use
one table, a term folded in Python always matches the column folded in SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

_LOWER = "áàâãäåāéèêëēíìîïīóòôõöøōúùûüūçñýÿ"
_PLAIN = "aaaaaaaeeeeeiiiiiooooooouuuuucnyy"
#: Upper case too: PostgreSQL's ``lower`` leaves non-ASCII letters alone under the C locale.
_ACCENTED = _LOWER + _LOWER.upper()
_PLAIN = _PLAIN + _PLAIN
_TABLE = str.maketrans(_ACCENTED, _PLAIN)
SQLITE_FUNCTION = "esign_fold"
assert len(_ACCENTED) == len(_PLAIN)


def fold(text: str) -> str:
    """``"Leão"`` -> ``"leao"``: lower case, diacritics of the table removed."""
    return text.lower().translate(_TABLE)


class folded(FunctionElement[str]):  # noqa: N801 - used like a SQL function
    """``fold`` of a column in SQL (see the module docstring for each database)."""

    type = String()
    inherit_cache = True
    name = "folded"


@compiles(folded)
def _folded_default(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    argument = compiler.process(element.clauses, **kw)
    return f"translate(lower({argument}), '{_ACCENTED}', '{_PLAIN}')"


@compiles(folded, "sqlite")
def _folded_sqlite(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


def _sqlite_fold(value: object) -> str | None:
    return None if value is None else fold(str(value))


def prepare(conn: Connection) -> None:
    """Make ``folded`` usable on this connection (SQLite needs the function registered; cheap to repeat)."""
    if conn.dialect.name == "sqlite":
        raw: Any = conn.connection.driver_connection
        raw.create_function(SQLITE_FUNCTION, 1, _sqlite_fold, deterministic=True)


def contains(column: ColumnElement[str], term: str) -> ColumnElement[bool]:
    """``column`` contains ``term``, accents and case ignored, with LIKE's wildcards in the term taken literally."""
    escaped = fold(term).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return folded(column).like(f"%{escaped}%", escape="\\")
