"""The access answer's data files: data.json (the request and every system's complete, masked
records) and data.csv (one value per row), built from what `answer_data.collect` gathered.

They keep the keys and values as stored, whatever the letter's language, so that other
software reads them the same way; only the withheld marker reads in the letter's language,
as the letter quotes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from dsar import spreadsheets
from dsar.documents.answer_data import Collected, as_text
from dsar.models import Request
from dsar.rules import letters

CSV_HEADER = ("system", "place", "record", "field", "value")


def _export(req: Request, received: date, collected: Collected) -> dict[str, Any]:
    return {
        "reference": req.reference,
        "kind": req.kind.value,
        "regime": req.regime,
        "received_on": received.isoformat(),
        "due_on": req.due_on.isoformat(),
        "withheld_values": letters.withheld_value(req.regime),
        "systems": [
            {
                "key": v.system.key,
                "name": v.system.name,
                "owner": v.system.owner,
                "status": v.task.status.value,
                "found": v.found,
                "records": collected.data[v.system.key],
                "files": [
                    {
                        "name": f.original_name,
                        "type": f.media_type,
                        "bytes": f.size,
                        "sha256": f.sha256,
                    }
                    for f in v.files
                ],
                "withheld": [w.as_dict() for w in v.withheld],
            }
            for v in collected.views
        ],
    }


def data_json(req: Request, received: date, collected: Collected) -> bytes:
    """data.json: the request, and every system's status and complete masked records."""
    return json.dumps(
        _export(req, received, collected), ensure_ascii=False, indent=1, default=str
    ).encode()


def _csv_rows(collected: Collected) -> Iterator[tuple[str, str, int, str, str]]:
    for view in collected.views:
        for place, rows in collected.data[view.system.key].items():
            for n, row in enumerate(rows, start=1):
                for name, value in row.items():
                    # A stored number stays a number; text is what could be a formula.
                    text = value if isinstance(value, str) else as_text(value)
                    yield (view.system.key, place, n, str(name), text)


def data_csv(collected: Collected) -> bytes:
    """data.csv: one row per value of every masked record, for spreadsheet programs."""
    # A BOM so that spreadsheet programs read the file as UTF-8.
    body = spreadsheets.write([CSV_HEADER, *_csv_rows(collected)])
    return ("\ufeff" + body).encode()
