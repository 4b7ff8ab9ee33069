"""Correction as data: the fields a person may have corrected, and why a change may be refused.

The person names each field that is wrong and what it should be (GDPR Art. 16, CCPA
1798.106, LGPD Art. 18 III, Va. Code 59.1-577(A)(2), C.R.S. 6-1-1306(1)(c), Conn. Gen.
Stat. 42-518(a)(2), Québec s. 28). An officer accepts, edits or refuses each change; a
refusal names a reason from the law's list below, with its citation.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsar.i18n import N_
from dsar.models import RequestKind
from dsar.rules.regimes import REGIMES
from dsar.rules.types import DenialReason


@dataclass(frozen=True)
class Field:
    key: str
    label: str  # what the person and the certificate read
    kind: str = "text"  # text | email | phone


# What the person may ask to have corrected, in the order the form shows them.
ASKED: tuple[Field, ...] = (
    Field("name", "Name"),
    Field("email", "Email address", "email"),
    Field("phone", "Phone number", "phone"),
    Field("street", "Street and number"),
    Field("postcode", "Postcode or ZIP code"),
    Field("city", "City"),
    Field("country", "Country"),
)
# Systems that keep a name in two columns get it split; the officer checks the split.
NAME_PARTS: tuple[Field, ...] = (
    Field("given_name", N_("Given name(s)")),
    Field("family_name", N_("Family name")),
)
DECIDED: tuple[Field, ...] = (ASKED[0], *NAME_PARTS, *ASKED[1:])
LABELS: dict[str, str] = {f.key: f.label for f in DECIDED} | {"other": N_("Other corrections")}
# Identity fields whose value as held also helps to find the person's records.
LOCATING = ("email", "phone")
MAX_OTHER = 2000

# The reason a change may be refused under each law (the data is accurate, the change is
# not supported), besides "another reason" with free text.
_ACCURATE = {
    "gdpr": "GDPR Art. 16 (only inaccurate data must be rectified)",
    "uk_gdpr": "UK GDPR Art. 16 (only inaccurate data must be rectified)",
    "ccpa": "11 CCR 7023(b): more likely than not accurate, given all the circumstances",
    "lgpd": "LGPD Art. 18 III (incomplete, inaccurate or outdated data)",
    "us_va": "Va. Code 59.1-577(A)(2) (inaccuracies)",
    "us_co": "C.R.S. 6-1-1306(1)(c) (inaccurate personal data)",
    "us_ct": "Conn. Gen. Stat. 42-518(a)(2) (inaccuracies)",
    "qc_law25": "s. 28 (inaccurate, incomplete or equivocal information)",
}
_UNSUPPORTED = {
    "ccpa": "11 CCR 7023(d): documentation to support the change was asked for and not given",
}


def refusals(regime_key: str) -> tuple[DenialReason, ...]:
    """The reasons an officer may give for not making one asked change, with citations."""
    right = REGIMES[regime_key].kinds.get(RequestKind.CORRECTION, "")
    found = [
        DenialReason(
            "accurate",
            N_("The data we hold is accurate"),
            _ACCURATE.get(regime_key, right),
        ),
        DenialReason(
            "unsupported",
            N_("The change is not supported by what you told us or sent us"),
            _UNSUPPORTED.get(regime_key, right),
        ),
        DenialReason(
            "other", N_("Another reason (explained)"), "free text", free_text_required=True
        ),
    ]
    return tuple(found)


def refusal(regime_key: str, key: str) -> DenialReason | None:
    return next((r for r in refusals(regime_key) if r.key == key), None)
