"""The auditor's evidence PDF: what it shows, who may take it, its signature, and its safety."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask
from flask.testing import FlaskClient
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from sqlalchemy import select

from dsar.documents.render import AssetFetcher
from dsar.extensions import db
from dsar.models import Event, Request
from dsar.services import decisions, intake
from dsar.services.api_keys import create as create_api_key
from dsar.services.events import record
from tests.conftest import pdf_text
from tests.test_certificates import complete

pytestmark = pytest.mark.slow

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com"}


@pytest.fixture
def opted_out(
    client: FlaskClient, demo_systems: list[str], api_key: str, run_workers: Callable[..., None]
) -> Request:
    """Jane's CCPA opt-out, done by real workers: tasks, a document, a full history."""
    return complete(client, api_key, run_workers, "opt_out", "ccpa")


def evidence_url(req: Request) -> str:
    return f"/audit/requests/{req.reference}/evidence.pdf"


def test_an_auditor_downloads_the_evidence_with_timeline_hashes_and_deadline(
    opted_out: Request, client: FlaskClient, login: Callable[[str], str]
) -> None:
    req = opted_out
    login("auditor")
    page = client.get(f"/staff/requests/{req.reference}").get_data(as_text=True)
    assert "Evidence PDF" in page

    with client.get(evidence_url(req)) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/pdf"
        assert resp.headers["Cache-Control"] == "no-store"
        disposition = resp.headers["Content-Disposition"]
        data = resp.data
    assert disposition == f'attachment; filename="{req.reference}-evidence.pdf"'
    text = pdf_text(data)

    assert f"Evidence file {req.reference}" in text
    assert "Unsigned." in pdf_text_of_page(data, 0)  # said on the first page
    for action in ("submitted", "verified", "fan out", "task succeeded", "response compiled"):
        assert action in text, action
    doc = req.documents[0]
    assert doc.sha256 in text
    assert f"Deadline met: answered on {req.completed_at.day} " in text
    assert f"due {req.due_on.day} {req.due_on:%B %Y}" in text
    assert "15 business days" in text  # the deadline's explanation (CCPA 7026 opt-out)
    assert "j***@example.com" in text and "J*** D***" in text
    assert "jane.doe@example.com" not in text and "Jane Doe" not in text
    assert "Newsletter (mailing lists): opt out, succeeded" in text

    event = db.session.scalars(
        select(Event).where(Event.action == "evidence_downloaded", Event.request_id == req.id)
    ).one()
    user_id = event.actor.removeprefix("user:")
    assert user_id.isdigit()
    assert event.detail == {"sha256": hashlib.sha256(data).hexdigest(), "signed": False}


def pdf_text_of_page(data: bytes, index: int) -> str:
    return " ".join(PdfReader(io.BytesIO(data)).pages[index].extract_text().split())


def test_officers_get_403_anonymous_visitors_the_login_and_unknown_references_404(
    opted_out: Request, client: FlaskClient, login: Callable[[str], str]
) -> None:
    req = opted_out
    resp = client.get(evidence_url(req))
    assert resp.status_code == 302
    assert "/staff/login" in resp.headers["Location"]
    login("officer")
    assert client.get(evidence_url(req)).status_code == 403
    page = client.get(f"/staff/requests/{req.reference}").get_data(as_text=True)
    assert "Evidence PDF" not in page
    login("admin")
    assert client.get("/audit/requests/DSAR-2000-999999/evidence.pdf").status_code == 404
    assert client.get(evidence_url(req)).status_code == 200
    taken = db.session.scalars(select(Event).where(Event.action == "evidence_downloaded")).all()
    assert len(taken) == 1  # the refused and the unknown ones recorded nothing


def test_decisions_verification_and_a_missed_deadline_are_shown(
    app: Flask, client: FlaskClient, demo_systems: list[str], login: Callable[[str], str]
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=120)
    key, _ = create_api_key("tests")
    req = intake.submit(
        intake.Submission(kind="deletion", regime="gdpr", **JANE),
        channel="api",
        api_key=key,
        identity_verified=True,
        now=long_ago,
    ).request
    decisions.add_note(req, "Called the CRM owner about the export", actor="user:1")
    decisions.deny(req, "manifestly_unfounded", "Fifth identical request this week", actor="user:1")
    login("auditor")
    text = pdf_text(client.get(evidence_url(req)).data)
    assert "Deadline missed: answered on" in text
    assert f"after the due date {req.due_on.day} {req.due_on:%B %Y}" in text
    assert "Denied: " in text and "GDPR Art. 12(5)" in text
    assert "Fifth identical request this week" in text
    assert "Called the CRM owner about the export" in text
    assert f"Verified {req.verified_at:%Y-%m-%d %H:%M}" in text
    assert "API key #" in text and "api-key:" not in text


# --- signing -------------------------------------------------------------------------------


@pytest.fixture
def signing_files(tmp_path: Path) -> dict[str, Path]:
    """A self-signed key and certificate, the key encrypted with a passphrase."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dsar evidence test signer")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = tmp_path / "signing-key.pem", tmp_path / "signing-cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"evidence-passphrase"),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return {"key": key_path, "cert": cert_path}


@pytest.fixture
def signing_app(app: Flask, signing_files: dict[str, Path]) -> Iterator[Flask]:
    app.config.update(
        DSAR_SIGNING_KEY=str(signing_files["key"]),
        DSAR_SIGNING_CERT=str(signing_files["cert"]),
        DSAR_SIGNING_PASSPHRASE="evidence-passphrase",
    )
    yield app


def validate(data: bytes, cert: Path) -> Any:
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(cert))])
    reader = PdfFileReader(io.BytesIO(data))
    (signature,) = reader.embedded_signatures
    assert signature.field_name == "dsar-evidence"
    return validate_pdf_signature(signature, context)


def test_a_configured_key_signs_the_evidence_and_a_flipped_byte_breaks_it(
    signing_app: Flask,
    opted_out: Request,
    client: FlaskClient,
    login: Callable[[str], str],
    signing_files: dict[str, Path],
) -> None:
    req = opted_out
    login("auditor")
    data = client.get(evidence_url(req)).data
    first_page = pdf_text_of_page(data, 0)
    assert "Digitally signed." in first_page
    assert "CN=dsar evidence test signer" in first_page

    status = validate(data, signing_files["cert"])
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line

    # Flip one byte inside the signed range: the binary comment on the file's second line.
    reader = PdfFileReader(io.BytesIO(data))
    byte_range = reader.embedded_signatures[0].byte_range
    start, length = byte_range[0], byte_range[1]
    assert start == 0 and length > 20
    tampered = bytearray(data)
    tampered[10] ^= 0x01
    broken = validate(bytes(tampered), signing_files["cert"])
    assert not broken.intact
    assert not broken.bottom_line

    event = db.session.scalars(select(Event).where(Event.action == "evidence_downloaded")).one()
    assert event.detail["signed"] is True


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("DSAR_SIGNING_PASSPHRASE", "wrong", "DSAR_SIGNING_PASSPHRASE is wrong"),
        ("DSAR_SIGNING_KEY", "/nonexistent/key.pem", "cannot read /nonexistent/key.pem"),
        ("DSAR_SIGNING_CERT", "", "DSAR_SIGNING_CERT is not set"),
    ],
)
def test_a_misconfigured_key_is_a_clear_error_and_nothing_is_recorded(
    signing_app: Flask,
    opted_out: Request,
    client: FlaskClient,
    login: Callable[[str], str],
    setting: str,
    value: str,
    message: str,
) -> None:
    req = opted_out
    signing_app.config[setting] = value
    login("auditor")
    resp = client.get(evidence_url(req))
    assert resp.status_code == 500
    page = resp.get_data(as_text=True)
    assert "The evidence file cannot be signed" in page
    assert message in page
    assert "Traceback" not in page
    assert (
        db.session.scalars(select(Event).where(Event.action == "evidence_downloaded")).all() == []
    )


def test_a_key_that_does_not_match_the_certificate_is_refused(
    signing_app: Flask,
    opted_out: Request,
    client: FlaskClient,
    login: Callable[[str], str],
    tmp_path: Path,
) -> None:
    other = tmp_path / "other-key.pem"
    other.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signing_app.config.update(DSAR_SIGNING_KEY=str(other), DSAR_SIGNING_PASSPHRASE="")
    req = opted_out
    login("admin")
    resp = client.get(evidence_url(req))
    assert resp.status_code == 500
    assert "does not belong to the certificate" in resp.get_data(as_text=True)


# --- hostile values ------------------------------------------------------------------------

PAYLOADS = (
    '<img src="file:///etc/passwd">',
    '<link rel="stylesheet" href="http://169.254.169.254/latest/meta-data/">',
    "<style>@import url(http://169.254.169.254/x.css);</style>",
    "<script>alert(1)</script>",
)


def test_hostile_values_are_printed_as_text_and_nothing_is_fetched(
    opted_out: Request,
    client: FlaskClient,
    login: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fetched: list[str] = []
    real_fetch = AssetFetcher.fetch

    def spy(self: AssetFetcher, url: str, headers: Any = None) -> Any:
        fetched.append(url)
        return real_fetch(self, url, headers)

    monkeypatch.setattr(AssetFetcher, "fetch", spy)
    req = opted_out
    req.tasks[0].system.name = "CRM " + PAYLOADS[0]
    req.tasks[1].note = PAYLOADS[1]
    record(req, "note", actor="user:1", detail={"note": PAYLOADS[2], "x": PAYLOADS[3]})
    req.denial_reason, req.denial_text = "other", " ".join(PAYLOADS)
    db.session.commit()

    login("auditor")
    resp = client.get(evidence_url(req))
    assert resp.status_code == 200
    text = pdf_text(resp.data)
    # Printed as characters, not read as markup (lines may wrap inside a long value).
    squeezed = "".join(text.split()).replace("“", "").replace("”", "")
    for payload in PAYLOADS:
        assert "".join(payload.split()) in squeezed, payload
    stylesheet_only = [u for u in fetched if not u.endswith("/static/pdf/evidence.css")]
    assert stylesheet_only == []
    assert any(u.endswith("/static/pdf/evidence.css") for u in fetched)  # the spy saw fetches
