"""Rule sets per regime as data with citations, and the product's kinds of request.

Views, services and documents read these tables; nothing else in the code branches on a
regime's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from dsar.i18n import N_
from dsar.models import RequestKind, TaskAction
from dsar.rules import letters as letters  # the access answer's letter per regime
from dsar.rules.regimes import REGIMES
from dsar.rules.types import (
    Appeal,
    DenialReason,
    Extension,
    Pause,
    Period,
    Regime,
    Requirement,
    Unit,
    Verification,
)

__all__ = [
    "ACTIONS",
    "APPROVAL_KINDS",
    "FLAG_PURPOSES",
    "KIND_LABELS",
    "OFFERED_KINDS",
    "REGIMES",
    "Appeal",
    "DenialReason",
    "Extension",
    "Pause",
    "Period",
    "Regime",
    "Requirement",
    "Unit",
    "UnknownRegime",
    "Verification",
    "configure",
    "regime",
]

# The product's automated action per kind. Kinds without one are handled by an officer.
ACTIONS: dict[RequestKind, TaskAction] = {
    RequestKind.ACCESS: TaskAction.LOCATE,
    RequestKind.PORTABILITY: TaskAction.LOCATE,
    RequestKind.DELETION: TaskAction.ERASE,
    RequestKind.OPT_OUT: TaskAction.OPT_OUT,
    RequestKind.LIMIT_SENSITIVE: TaskAction.LIMIT_SENSITIVE,
    RequestKind.CORRECTION: TaskAction.CORRECT,
    RequestKind.RESTRICTION: TaskAction.RESTRICT,
    RequestKind.OBJECTION: TaskAction.OBJECT,
}

# The flag each action sets in a system (the connectors' `flag` purposes; the registry
# names per system which columns or lists carry it).
FLAG_PURPOSES: dict[TaskAction, str] = {
    TaskAction.OPT_OUT: "opt_out",
    TaskAction.RESTRICT: "restriction",
    TaskAction.OBJECT: "objection",
    TaskAction.LIMIT_SENSITIVE: "limit_sensitive",
}

# Kinds the portal and API accept today: each has an automated path end to end.
OFFERED_KINDS: tuple[RequestKind, ...] = (
    RequestKind.ACCESS,
    RequestKind.PORTABILITY,
    RequestKind.CORRECTION,
    RequestKind.DELETION,
    RequestKind.OPT_OUT,
    RequestKind.RESTRICTION,
    RequestKind.OBJECTION,
    RequestKind.LIMIT_SENSITIVE,
)

# A Global Privacy Control signal (`Sec-GPC: 1`) is a request to opt out of sale and sharing
# that needs no verification (11 CCR 7025(b)-(c), 7026(d)); the portal files it under the CCPA.
GPC_REGIME = "ccpa"
GPC_CITATION = "11 CCR 7025(b): a GPC signal is a valid request to opt out of sale/sharing"

# Kinds that wait for an officer's decision after a dry run (locate) before acting: an
# erasure is approved; a correction is decided change by change (dsar.services.corrections);
# an objection to processing on legitimate interests is upheld unless the company shows
# compelling grounds (GDPR Art. 21(1), LGPD Art. 18 §2), which is the officer's call.
APPROVAL_KINDS: frozenset[RequestKind] = frozenset(
    {RequestKind.DELETION, RequestKind.CORRECTION, RequestKind.OBJECTION}
)

KIND_LABELS: dict[RequestKind, str] = {
    RequestKind.ACCESS: N_("See the data held about me"),
    RequestKind.PORTABILITY: N_("Get my data in a machine-readable file"),
    RequestKind.DELETION: N_("Delete my data"),
    RequestKind.CORRECTION: N_("Correct my data"),
    RequestKind.OPT_OUT: N_("Stop selling, sharing or marketing with my data"),
    RequestKind.RESTRICTION: N_("Restrict the use of my data"),
    RequestKind.OBJECTION: N_("Object to the use of my data"),
    RequestKind.LIMIT_SENSITIVE: N_("Limit the use of my sensitive data"),
}

_DEFAULTS = dict(REGIMES)


class UnknownRegime(KeyError):
    pass


def regime(key: str) -> Regime:
    try:
        return REGIMES[key]
    except KeyError:
        raise UnknownRegime(key) from None


def configure(config: Mapping[str, Any]) -> None:
    """Apply the settings that stand in for values LEGAL.md marks *unverified*."""
    REGIMES.clear()
    REGIMES.update(_DEFAULTS)
    qc_days = int(config.get("DSAR_QC_EXTENSION_DAYS", 0))
    if qc_days:
        REGIMES["qc_law25"] = dataclasses.replace(
            REGIMES["qc_law25"],
            extension=Extension(
                Period(qc_days, Unit.DAYS, f"DSAR_QC_EXTENSION_DAYS={qc_days} (unverified)"),
                citation="configured: no extension found in the Act (unverified)",
            ),
        )
    co_days = int(config.get("DSAR_CO_APPEAL_EXTENSION_DAYS", 60))
    co = REGIMES["us_co"]
    if co.appeal is not None:
        extension = (
            Period(co_days, Unit.DAYS, f"C.R.S. 6-1-1306(3)(b): {co_days} more (unverified)")
            if co_days
            else None
        )
        REGIMES["us_co"] = dataclasses.replace(
            co, appeal=dataclasses.replace(co.appeal, extension=extension)
        )
