"""The yearly metrics report (CCPA 11 CCR 7102): the same figures on the page, in the CSV and
in the PDF, counted in the company's time zone."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from itertools import count

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dsar.extensions import db
from dsar.models import Request, RequestKind, RequestStatus
from dsar.services import metrics
from tests.conftest import pdf_text

S = RequestStatus
K = RequestKind
_numbers = count(1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add(
    kind: RequestKind,
    regime: str,
    status: RequestStatus,
    received: str,
    done: str | None = None,
    reason: str = "",
) -> None:
    n = next(_numbers)
    db.session.add(
        Request(
            reference=f"DSAR-TEST-{n:06d}",
            tracking_hash=f"{n:064x}",
            kind=kind,
            regime=regime,
            status=status,
            channel="api",
            name="Test Person",
            email=f"person{n}@example.org",
            received_at=utc(received),
            due_on=date(2030, 1, 1),
            completed_at=utc(done) if done else None,
            denial_reason=reason,
        )
    )


@pytest.fixture
def two_years(app: Flask) -> None:
    """Requests across 2025 and 2026 with known outcomes; the company is in Los Angeles."""
    app.config["DSAR_TIMEZONE"] = "America/Los_Angeles"
    # 2026, CCPA access: 10, 12 and 3 days; two open (one received at 21:00 on 31 December
    # in Los Angeles, already 2027 in UTC).
    add(K.ACCESS, "ccpa", S.COMPLETED, "2026-01-10 17:00", "2026-01-20 18:00")
    add(K.ACCESS, "ccpa", S.COMPLETED, "2026-02-01 20:00", "2026-02-13 20:00")
    add(K.ACCESS, "ccpa", S.DENIED, "2026-03-01 20:00", "2026-03-04 20:00", "not_verified")
    add(K.ACCESS, "ccpa", S.IN_PROGRESS, "2026-12-31 20:00")
    add(K.ACCESS, "ccpa", S.AWAITING_VERIFICATION, "2027-01-01 05:00")
    # GDPR access: 28 days; a GDPR portability request still open (a kind outside 7102).
    add(K.ACCESS, "gdpr", S.COMPLETED, "2026-06-01 10:00", "2026-06-29 10:00")
    add(K.PORTABILITY, "gdpr", S.IN_PROGRESS, "2026-07-01 10:00")
    # Deletion: 20 days; denied after 4 and 5 days; one spam.
    add(K.DELETION, "ccpa", S.COMPLETED, "2026-04-01 16:00", "2026-04-21 16:00")
    add(K.DELETION, "ccpa", S.DENIED, "2026-04-02 16:00", "2026-04-06 16:00", "erasure_exception")
    add(K.DELETION, "ccpa", S.DENIED, "2026-04-03 16:00", "2026-04-08 16:00", "not_verified")
    add(K.DELETION, "ccpa", S.CANCELLED, "2026-04-04 16:00", "2026-04-04 17:00")
    # Opt-out: same day and next day; one duplicate.
    add(K.OPT_OUT, "ccpa", S.COMPLETED, "2026-05-01 16:00", "2026-05-01 20:00")
    add(K.OPT_OUT, "ccpa", S.COMPLETED, "2026-05-02 16:00", "2026-05-03 16:00")
    add(K.OPT_OUT, "ccpa", S.DUPLICATE, "2026-05-03 16:00", "2026-05-03 17:00")
    # 2025: access in 10 days; a deletion received at 22:00 on 31 December 2025 in Los
    # Angeles (2026 in UTC), denied on 4 January: 4 days.
    add(K.ACCESS, "ccpa", S.COMPLETED, "2025-06-01 16:00", "2025-06-11 16:00")
    add(K.DELETION, "ccpa", S.DENIED, "2026-01-01 06:00", "2026-01-05 06:00", "not_verified")
    db.session.commit()


# (received, complied, denied, open, closed without answer, median, mean)
EXPECTED_2026_KINDS = {
    "access": ("6", "3", "1", "2", "0", "11", "13.3"),
    "portability": ("1", "0", "0", "1", "0", "", ""),
    "deletion": ("4", "1", "2", "0", "1", "5", "9.7"),
    "correction": ("0", "0", "0", "0", "0", "", ""),
    "opt_out": ("3", "2", "0", "0", "1", "0.5", "0.5"),
    "limit_sensitive": ("0", "0", "0", "0", "0", "", ""),
}
EXPECTED_2026_REGIMES = {
    "ccpa": ("12", "5", "3", "2", "2", "4.5", "6.9"),
    "gdpr": ("2", "1", "0", "1", "0", "28", "28"),
}
EXPECTED_2026_TOTAL = ("14", "6", "3", "3", "2", "5", "9.2")


def test_the_report_counts_each_kind_in_the_company_time_zone(app: Flask, two_years: None) -> None:
    m = metrics.report(2026)
    assert [r.key for r in m.by_kind] == list(EXPECTED_2026_KINDS)
    for row in m.by_kind:
        got = (row.received, row.complied, row.denied, row.open, row.closed_other)
        assert tuple(str(v) for v in got) == EXPECTED_2026_KINDS[row.key][:5], row.key
    access = m.by_kind[0]
    assert sorted(access.days) == [3, 10, 12, 28]
    assert access.median_days == 11
    assert access.mean_days == 13.3  # 53 / 4 = 13.25, rounded half up
    assert m.total.denial_reasons == {"not_verified": 2, "erasure_exception": 1}
    assert m.denial_reasons == [
        ("not_verified", "We could not verify your identity"),
        ("erasure_exception", "The law requires or allows us to keep this data"),
    ]
    earlier = metrics.report(2025)
    assert (earlier.total.received, earlier.total.complied, earlier.total.denied) == (2, 1, 1)
    assert sorted(earlier.total.days) == [4, 10]


def cells(page: str, row_id: str) -> list[str]:
    found = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', page, re.S)
    assert found, f"no row {row_id} on the page"
    return [html.unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", found[1])]


NONE = "\u2013"  # the dash shown where there is no figure (nothing answered)


def shown(figures: tuple[str, ...]) -> list[str]:
    return [f or NONE for f in figures]


@pytest.mark.parametrize("role", ["auditor", "officer", "admin"])
def test_every_figure_is_on_the_page(
    client: FlaskClient, login: Callable[[str], str], two_years: None, role: str
) -> None:
    login(role)
    resp = client.get("/audit/metrics?year=2026")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    for key, figures in EXPECTED_2026_KINDS.items():
        row = cells(page, f"by-kind-of-request-{key}")
        assert row[1:] == shown(figures), key
    assert cells(page, "by-kind-of-request-all")[1:] == shown(EXPECTED_2026_TOTAL)
    assert cells(page, "by-kind-of-request-access")[0] == "Access (request to know)"
    for key, figures in EXPECTED_2026_REGIMES.items():
        assert cells(page, f"by-law-{key}")[1:] == shown(figures), key
    assert cells(page, "by-law-gdpr")[0] == "European Union (GDPR)"
    # Denials per reason: access 1 not verified; deletion 1 not verified, 1 exception.
    assert cells(page, "denials-access")[1:] == ["1", "0", "1"]
    assert cells(page, "denials-deletion")[1:] == ["1", "1", "2"]
    assert cells(page, "denials-all")[1:] == ["2", "1", "3"]
    words = " ".join(page.split())
    assert "14 request(s) received in 2026: 6 complied with, 3 denied, 3 still open" in words
    assert "Median 5 days, mean 9.2 days to respond." in words
    # Charts are inline SVG, and the page links its CSV and PDF.
    assert page.count("<svg") == 2
    assert "<script" not in page
    assert 'href="/audit/metrics.csv?year=2026"' in page
    assert 'href="/audit/metrics.pdf?year=2026"' in page
    assert "<title>Access (request to know): 3 complied with</title>" in page


def test_the_csv_holds_the_same_figures(
    client: FlaskClient, login: Callable[[str], str], two_years: None
) -> None:
    login("auditor")
    resp = client.get("/audit/metrics.csv?year=2026")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert 'filename="dsar-metrics-2026.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    by = {(r["scope"], r["key"]): r for r in rows}
    names = ("received", "complied", "denied", "open", "closed_other", "median_days", "mean_days")
    for key, figures in EXPECTED_2026_KINDS.items():
        assert tuple(by["kind", key][n] for n in names) == figures, key
    for key, figures in EXPECTED_2026_REGIMES.items():
        assert tuple(by["regime", key][n] for n in names) == figures, key
    assert tuple(by["total", "all"][n] for n in names) == EXPECTED_2026_TOTAL
    assert by["kind", "deletion"]["denied_not_verified"] == "1"
    assert by["kind", "deletion"]["denied_erasure_exception"] == "1"
    assert by["total", "all"]["denied_not_verified"] == "2"
    assert by["kind", "access"]["answered"] == "4"
    assert {r["year"] for r in rows} == {"2026"}


def test_the_pdf_holds_the_same_figures(
    client: FlaskClient, login: Callable[[str], str], two_years: None
) -> None:
    login("officer")
    resp = client.get("/audit/metrics.pdf?year=2026")
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    text = pdf_text(resp.data)
    assert "Privacy request metrics for 2026" in text
    assert "14 request(s) received in 2026: 6 complied with, 3 denied, 3 still open" in text
    for label, figures in [
        ("Access (request to know)", EXPECTED_2026_KINDS["access"]),
        ("Deletion", EXPECTED_2026_KINDS["deletion"]),
        ("Opt-out of sale or sharing", EXPECTED_2026_KINDS["opt_out"]),
        ("Correction", EXPECTED_2026_KINDS["correction"]),
        ("All requests", EXPECTED_2026_TOTAL),
    ]:
        assert f"{label} {' '.join(shown(figures))}" in text, label
    assert "We could not verify your identity" in text
    assert "America/Los_Angeles" in text


def test_an_empty_year_shows_zeros(
    client: FlaskClient, login: Callable[[str], str], two_years: None
) -> None:
    login("auditor")
    page = client.get("/audit/metrics?year=2024").get_data(as_text=True)
    for key in ("access", "deletion", "correction", "opt_out", "limit_sensitive"):
        assert cells(page, f"by-kind-of-request-{key}")[1:] == ["0"] * 5 + [NONE, NONE]
    assert "portability" not in page.lower()
    assert "No request received in 2024 was denied." in page
    assert "No appeal was filed in 2024." in page
    rows = list(csv.DictReader(io.StringIO(client.get("/audit/metrics.csv?year=2024").text)))
    assert [r["received"] for r in rows] == ["0"] * 7  # five kinds, all requests, appeals
    assert rows[-1]["scope"] == "appeals"
    assert client.get("/audit/metrics.pdf?year=2024").status_code == 200


@pytest.mark.parametrize(
    ("year", "message"),
    [
        ("abc", "The year must be four digits"),
        ("20266", "The year must be four digits"),
        ("-2026", "The year must be four digits"),
        ("1999", "Choose a year from 2000 to"),
        ("3000", "Choose a year from 2000 to"),
    ],
)
def test_a_bad_year_is_refused(
    client: FlaskClient, login: Callable[[str], str], year: str, message: str
) -> None:
    login("auditor")
    for path in ("/audit/metrics", "/audit/metrics.csv", "/audit/metrics.pdf"):
        resp = client.get(path, query_string={"year": year})
        assert resp.status_code == 400, path
        assert message in resp.get_data(as_text=True)
        assert "Traceback" not in resp.get_data(as_text=True)


def test_next_year_and_no_year_are_fine(client: FlaskClient, login: Callable[[str], str]) -> None:
    login("auditor")
    this_year = datetime.now(UTC).year
    assert client.get(f"/audit/metrics?year={this_year + 1}").status_code == 200
    page = client.get("/audit/metrics").get_data(as_text=True)
    assert f"Request metrics for {this_year}" in page


def test_the_report_needs_a_staff_login(client: FlaskClient, app: Flask) -> None:
    for path in ("/audit/metrics", "/audit/metrics.csv", "/audit/metrics.pdf"):
        resp = client.get(path + "?year=2026")
        assert resp.status_code == 302
        assert "/staff/login" in resp.headers["Location"]


def test_staff_pages_link_to_the_report_and_the_chain(
    client: FlaskClient, login: Callable[[str], str]
) -> None:
    login("officer")
    page = client.get("/staff/queue").get_data(as_text=True)
    assert 'href="/audit/metrics"' in page
    assert 'href="/audit/chain"' in page
