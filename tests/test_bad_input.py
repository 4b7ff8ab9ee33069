"""Bad input at every door gets a clear message and a 4xx, and nothing is stored.

Each case here is one a security probe found answering 500 or storing a bad row; see
tests/test_fuzz.py for the generated ones.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar import inputs
from dsar.extensions import db
from dsar.models import Request
from dsar.services import intake
from tests.conftest import api_headers, csrf_token

BODY = {"kind": "access", "regime": "gdpr", "name": "Jane Doe", "email": "jane.doe@example.com"}
FORM = {**BODY, "phone": "", "country": "", "details": ""}


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Request))


def post_json(client: FlaskClient, key: str, raw: str | bytes) -> object:
    return client.post(
        "/api/v1/requests", data=raw, content_type="application/json", headers=api_headers(key)
    )


# -- text --------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "country", "details"])
def test_a_lone_surrogate_is_refused_over_the_api(
    client: FlaskClient, api_key: str, field: str
) -> None:
    raw = '{"kind": "access", "regime": "gdpr", "name": "Jane", "email": "jane@example.com", '
    raw += f'"{field}": "a\\ud800b"}}'
    if field == "name":
        raw = raw.replace('"name": "Jane", ', "")
    resp = post_json(client, api_key, raw)
    assert resp.status_code == 422
    assert "not valid text" in resp.json["errors"]["json"][field][0]
    assert stored() == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "   "}, "name", "cannot be blank"),
        ({"name": "\r\n"}, "name", "one line"),
        ({"name": "\ufeff"}, "name", "cannot be blank"),
        ({"name": "\u200b \u3000"}, "name", "cannot be blank"),
        ({"name": "Ja\x00ne"}, "name", "control characters"),
        ({"name": "Jane\nDoe"}, "name", "one line"),
        ({"country": "F\x1brance"}, "country", "control characters"),
        ({"details": "line\x07bell"}, "details", "control characters"),
        ({"phone": "((((("}, "phone", "5 to 20 digits"),
        ({"phone": "+" + "1" * 30}, "phone", "5 to 20 digits"),
        ({"identity_verified": 1}, "identity_verified", "Not a valid boolean"),
        ({"identity_verified": "true"}, "identity_verified", "Not a valid boolean"),
    ],
)
def test_bad_text_is_refused_over_the_api_and_nothing_is_stored(
    client: FlaskClient, api_key: str, changes: dict, field: str, message: str
) -> None:
    resp = client.post("/api/v1/requests", json={**BODY, **changes}, headers=api_headers(api_key))
    assert resp.status_code == 422
    assert any(message in e for e in resp.json["errors"]["json"][field]), resp.json
    assert stored() == 0


def test_multi_line_details_keep_their_lines_and_lose_their_edges(
    client: FlaskClient, api_key: str
) -> None:
    details = "\ufeff  First line\r\n\tSecond line  \n"
    resp = client.post(
        "/api/v1/requests", json={**BODY, "details": details}, headers=api_headers(api_key)
    )
    assert resp.status_code == 201
    assert db.session.scalars(select(Request)).one().details == "First line\n\tSecond line"


# -- JSON bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[" * 1000 + "]" * 1000, "nests arrays and objects more than 8 deep"),
        # Over the parser's 1,000,000 bytes, under the app's 1 MiB: refused by the parser.
        ("[" * 510_000 + "]" * 510_000, "larger than"),
        ('{"a":' * 170_000 + "1" + "}" * 170_000, "larger than"),
        ('{"kind": "access", "x": ' + '{"y": ' * 9 + "1" + "}" * 10, "more than 8 deep"),
        ('{"identity_verified": ' + "9" * 5000 + "}", "at most 18 digits"),
        ('{"identity_verified": 1e999}', "finite"),
        ('{"identity_verified": NaN}', "NaN"),
        (
            '{"kind": "access", "regime": "gdpr", "name": "J", "email": "j@example.com", '
            '"identity_verified": false, "identity_verified": true}',
            "appears twice",
        ),
        (b'{"name": "\xff"}', "not UTF-8"),
        ("{not json", "Not valid JSON"),
    ],
)
def test_malformed_json_bodies_get_a_clear_4xx(
    client: FlaskClient, api_key: str, raw: str | bytes, message: str
) -> None:
    resp = post_json(client, api_key, raw)
    assert resp.status_code in {400, 413}
    assert resp.is_json
    assert message in resp.json["message"]
    assert stored() == 0


# -- forms -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/request", "/gpc"])
def test_a_file_posted_where_text_belongs_is_refused(client: FlaskClient, path: str) -> None:
    data = {
        "csrf_token": csrf_token(client, "/request"),
        **FORM,
        "details": (io.BytesIO(b"%PDF-1.7"), "scan.pdf"),
        "gpc-email": (io.BytesIO(b"x"), "mail.txt"),
    }
    resp = client.post(
        path, data=data, headers={"Sec-GPC": "1"}, content_type="multipart/form-data"
    )
    assert resp.status_code == 422
    assert inputs.NOT_TEXT in resp.get_data(as_text=True)
    assert stored() == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "   "}, "Enter your name"),
        ({"name": " \t "}, "control characters"),
        ({"name": "\ufeff"}, "Enter your name"),
        ({"name": "J\x00ane"}, "control characters"),
        ({"details": "a\x00b"}, "control characters"),
        ({"phone": "((((("}, "5 to 20 digits"),
    ],
)
def test_the_portal_form_refuses_bad_text_and_keeps_what_was_typed(
    client: FlaskClient, changes: dict, message: str
) -> None:
    data = {"csrf_token": csrf_token(client, "/request"), **FORM, "country": "Ireland", **changes}
    resp = client.post("/request", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in page
    assert 'value="Ireland"' in page
    assert stored() == 0


def test_the_intake_service_refuses_what_the_doors_refuse(app: Flask) -> None:
    with pytest.raises(intake.IntakeRefused) as refused:
        intake.submit(intake.Submission(**{**BODY, "name": "\x00"}), channel="api")
    assert refused.value.field == "name"
    assert stored() == 0


# -- numbers in the staff workspace ------------------------------------------------------


@pytest.fixture
def officer(app: Flask, login: Callable[[str], str]) -> str:
    login("officer")
    return intake.submit(intake.Submission(**BODY), channel="portal").request.reference


@pytest.mark.parametrize(
    "query",
    ["due_within=²", "due_within=99999", "assignee=²", "assignee=" + "9" * 25, "assignee=-1"],
)
def test_queue_numbers_that_are_not_numbers_answer_400(
    client: FlaskClient, officer: str, query: str
) -> None:
    resp = client.get(f"/staff/queue?{query}")
    assert resp.status_code == 400
    assert "whole number" in resp.get_data(
        as_text=True
    ) or "Choose a staff member" in resp.get_data(as_text=True)


@pytest.mark.parametrize("value", ["²", "9" * 25, "0", "1e3"])
def test_assigning_to_a_number_that_names_nobody_answers_400(
    client: FlaskClient, officer: str, value: str
) -> None:
    page = f"/staff/requests/{officer}"
    resp = client.post(
        f"{page}/assign", data={"csrf_token": csrf_token(client, page), "assignee": value}
    )
    assert resp.status_code == 400
    assert "whole number" in resp.get_data(as_text=True)
    assert db.session.scalars(select(Request)).one().assignee_id is None


@pytest.mark.parametrize("value", ["9" * 25, "²", "abc"])
def test_a_bulk_selection_with_an_impossible_id_answers_400(
    client: FlaskClient, officer: str, value: str
) -> None:
    resp = client.post(
        "/staff/bulk",
        data={
            "csrf_token": csrf_token(client, "/staff/"),
            "ids": ["1", value],
            "action": "approve",
        },
    )
    assert resp.status_code == 400
    assert "whole number" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/staff/requests/DSAR%00/tasks/1/retry",
        "/r/abc%00def",
        "/staff/queue?q=jane%00",
        "/api/v1/requests/DSAR%00",
    ],
)
def test_a_nul_byte_in_an_address_answers_400(client: FlaskClient, officer: str, path: str) -> None:
    resp = client.post(path) if "retry" in path else client.get(path)
    assert resp.status_code == 400


def test_an_id_past_64_bits_in_an_address_is_404(client: FlaskClient, officer: str) -> None:
    page = f"/staff/requests/{officer}"
    token = csrf_token(client, page)
    resp = client.post(f"{page}/tasks/{'9' * 25}/retry", data={"csrf_token": token})
    assert resp.status_code == 404
    assert client.get(f"{page}/documents/{'9' * 30}").status_code == 404


@pytest.mark.parametrize("year", ["²²²²", "0999", "20266", "year"])
def test_a_metrics_year_that_is_not_a_year_answers_400(
    client: FlaskClient, officer: str, year: str
) -> None:
    assert client.get(f"/audit/metrics?year={year}").status_code == 400


# -- the rules themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "multiline", "ok"),
    [
        ("Jane Doe", False, True),
        ("Zoë Ñúñez 山田", False, True),
        ("family 👨‍👩‍👧", False, True),  # zero-width joiners inside an emoji are text
        ("a\tb", False, False),
        ("a\tb", True, True),
        ("a\nb", True, True),
        ("a\u2028b", True, False),
        ("\ufffe", False, False),
        ("a\x7fb", False, False),
    ],
)
def test_which_text_is_refused(value: str, multiline: bool, ok: bool) -> None:
    assert (inputs.problem(value, multiline=multiline) is None) is ok


@pytest.mark.parametrize("raw", ["1", " 42 ", str(inputs.MAX_ID)])
def test_ids_that_parse(raw: str) -> None:
    assert inputs.parse_id(raw) == int(raw)


@pytest.mark.parametrize("raw", ["", "0", "-1", "²", "١٢", str(inputs.MAX_ID + 1), "1.0", None])
def test_ids_that_do_not(raw: str | None) -> None:
    with pytest.raises(inputs.InputRefused):
        inputs.parse_id(raw)
