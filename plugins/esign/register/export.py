"""The register's search as a CSV file for spreadsheets, safe to open.

Written the way a Brazilian spreadsheet opens it without an import dialog: UTF-8 with a byte-order mark, ``;``
between fields (the comma is the decimal mark), CRLF line ends. Safe against formula injection (OWASP "CSV
Injection"): a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with
``'`` so the spreadsheet shows text instead of running a formula a CRM user typed into a company name.
CPF/CNPJ and contacts are filled only for documents whose parties the person may see.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator

from esign.i18n import Translator
from esign.register.rows import Row
from esign.store import DocumentRecord

_RISKY_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Rows written per chunk handed to the response.
_CHUNK = 500


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_RISKY_STARTS) else text


def header(t: Translator) -> list[str]:
    return [t.gettext("Document"), t.gettext("Deal"), t.gettext("Title"), t.gettext("Counterparty"),
            t.gettext("CPF/CNPJ"), t.gettext("E-mail"), t.gettext("Phone"), t.gettext("Stage"),
            t.gettext("Template"), t.gettext("Batch"), t.gettext("Manager"), t.gettext("Created"),
            t.gettext("Signatures")]


def csv_chunks(t: Translator, rows: Iterable[Row], sees_parties: Callable[[DocumentRecord], bool],
               ) -> Iterator[bytes]:
    """The CSV file in chunks, for a streaming response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    buffer.write("\ufeff")
    writer.writerow([safe_cell(h) for h in header(t)])
    for n, row in enumerate(rows, 1):
        record, parties = row.record, sees_parties(row.record)
        values = [record.id, record.deal_id, record.title, record.counterparty_name,
                  record.counterparty_tax_id if parties else "", record.counterparty_email if parties else "",
                  record.counterparty_phone if parties else "", row.stage, record.template_id, row.batch,
                  row.manager, t.format_datetime(record.created_at), row.signatures]
        writer.writerow([safe_cell(v) for v in values])
        if n % _CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
