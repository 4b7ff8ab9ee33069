"""Why an answer may leave something out, or a system keep data after an erasure, per regime.

Two closed lists, each reason with the person's own law's citation (a GDPR letter never cites
the CCPA): `redaction_reasons` for an officer who withholds a record or a field from an
access answer, `kept_reasons` for a system owner who keeps records an erasure would remove.
Citations marked *unverified* follow shared/LEGAL.md's convention: the value is the product's
best reading and the letter prints it as given; counsel should confirm it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsar.i18n import N_


@dataclass(frozen=True)
class Reason:
    key: str
    label: str
    citation: str


REDACTION_LABELS = {
    "third_parties": N_("It is about other people (their personal data)"),
    "legal_privilege": N_("It is covered by legal professional privilege"),
    "trade_secrets": N_("It would reveal trade secrets or intellectual property"),
    "security": N_("Showing it would put the security of your data or our systems at risk"),
}
KEPT_LABELS = {
    "legal_obligation": N_("A law requires us to keep it (for example tax or commercial records)"),
    "legal_claims": N_("We need it to establish, exercise or defend legal claims"),
    "security": N_("We need it to detect or prevent fraud and security incidents"),
    "public_interest": N_("Archiving, research or statistics in the public interest"),
}

_REDACTION: dict[str, dict[str, str]] = {
    "gdpr": {
        "third_parties": "GDPR Art. 15(4)",
        "legal_privilege": "GDPR Art. 23(1)(f), (i) and national law",
        "trade_secrets": "GDPR Recital 63; Art. 15(4)",
        "security": "GDPR Art. 15(4); Art. 32",
    },
    "uk_gdpr": {
        "third_parties": "UK GDPR Art. 15(4); DPA 2018 Sch. 2 para. 16",
        "legal_privilege": "DPA 2018 Sch. 2 para. 19",
        "trade_secrets": "UK GDPR Art. 15(4); Recital 63",
        "security": "UK GDPR Art. 15(4); Art. 32",
    },
    "ccpa": {
        "third_parties": "Civ. Code 1798.145(k)",
        "legal_privilege": "Civ. Code 1798.145(a)(1)(E) (unverified)",
        "trade_secrets": "Civ. Code 1798.100(f); 11 CCR 7024(d)",
        "security": "11 CCR 7024(d)",
    },
    "lgpd": {
        "third_parties": "LGPD Art. 18 caput; Art. 6 X (unverified)",
        "legal_privilege": "LGPD Art. 7 VI (unverified)",
        "trade_secrets": "LGPD Art. 19 §3, Art. 20 §1 (segredos comercial e industrial)",
        "security": "LGPD Art. 46 (unverified)",
    },
    "qc_law25": {
        "third_parties": "Private sector Act, s. 40",
        "legal_privilege": "Private sector Act, s. 39 (unverified)",
        "trade_secrets": "Private sector Act, s. 39(1) (unverified)",
        "security": "Private sector Act, s. 39 (unverified)",
    },
}
for _key, _law in (("us_va", "Va. Code 59.1-582"), ("us_co", "C.R.S. 6-1-1304(3)")):
    _REDACTION[_key] = {
        "third_parties": f"{_law} (rights of others) (unverified)",
        "legal_privilege": f"{_law} (privileged information) (unverified)",
        "trade_secrets": f"{_law} (trade secrets) (unverified)",
        "security": f"{_law} (security and fraud) (unverified)",
    }
_REDACTION["us_ct"] = {
    "third_parties": "Conn. Gen. Stat. 42-524 (rights of others) (unverified)",
    "legal_privilege": "Conn. Gen. Stat. 42-524 (privileged information) (unverified)",
    "trade_secrets": "Conn. Gen. Stat. 42-524(d) (trade secrets) (unverified)",
    "security": "Conn. Gen. Stat. 42-524 (security and fraud) (unverified)",
}

_KEPT: dict[str, dict[str, str]] = {
    "gdpr": {
        "legal_obligation": "GDPR Art. 17(3)(b)",
        "legal_claims": "GDPR Art. 17(3)(e)",
        "security": "GDPR Art. 17(3)(b), Art. 6(1)(f) (unverified)",
        "public_interest": "GDPR Art. 17(3)(d)",
    },
    "uk_gdpr": {
        "legal_obligation": "UK GDPR Art. 17(3)(b)",
        "legal_claims": "UK GDPR Art. 17(3)(e)",
        "security": "UK GDPR Art. 17(3)(b), Art. 6(1)(f) (unverified)",
        "public_interest": "UK GDPR Art. 17(3)(d)",
    },
    "ccpa": {
        "legal_obligation": "Civ. Code 1798.105(d)(8)",
        "legal_claims": "Civ. Code 1798.145(a)(1)(E)",
        "security": "Civ. Code 1798.105(d)(2)",
        "public_interest": "Civ. Code 1798.105(d)(6)",
    },
    "lgpd": {
        "legal_obligation": "LGPD Art. 16 I",
        "legal_claims": "LGPD Art. 7 VI, Art. 16 (unverified)",
        "security": "LGPD Art. 16 I (unverified)",
        "public_interest": "LGPD Art. 16 II",
    },
    "qc_law25": {
        "legal_obligation": "Private sector Act, s. 23 (unverified)",
        "legal_claims": "Private sector Act, s. 23 (unverified)",
        "security": "Private sector Act, s. 23 (unverified)",
        "public_interest": "Private sector Act, s. 23 (unverified)",
    },
}
for _key, _law in (
    ("us_va", "Va. Code 59.1-582"),
    ("us_co", "C.R.S. 6-1-1304(3)"),
    ("us_ct", "Conn. Gen. Stat. 42-524"),
):
    _KEPT[_key] = {
        "legal_obligation": f"{_law} (compliance with law) (unverified)",
        "legal_claims": f"{_law} (legal claims) (unverified)",
        "security": f"{_law} (security and fraud) (unverified)",
        "public_interest": f"{_law} (public interest research) (unverified)",
    }


def _reasons(labels: dict[str, str], table: dict[str, str]) -> tuple[Reason, ...]:
    return tuple(Reason(key, labels[key], table[key]) for key in labels)


def redaction_reasons(regime_key: str) -> tuple[Reason, ...]:
    """Why an officer may withhold a record or a field, cited under the person's law."""
    return _reasons(REDACTION_LABELS, _REDACTION.get(regime_key, _REDACTION["gdpr"]))


def kept_reasons(regime_key: str) -> tuple[Reason, ...]:
    """Why a system may keep records after an erasure, cited under the person's law."""
    return _reasons(KEPT_LABELS, _KEPT.get(regime_key, _KEPT["gdpr"]))


def find(reasons: tuple[Reason, ...], key: str) -> Reason | None:
    return next((r for r in reasons if r.key == key), None)
