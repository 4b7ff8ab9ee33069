"""Authorised agents: who may file for a person, for which rights, with what proof, and where
the answer goes, per law (data, with citations).

Everywhere dsar sends the answer to the person, never to the agent: the download code goes
to the person's address. It is the reading every law here allows; an agent holding a power
of attorney (CCPA 11 CCR 7063(d)) is for an officer to handle by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dsar.i18n import N_
from dsar.models import RequestKind as K

NO_PROOF_KINDS = frozenset({K.OPT_OUT, K.LIMIT_SENSITIVE})


@dataclass(frozen=True)
class AgentRule:
    """Who may act for the person under one law."""

    citation: str
    kinds: frozenset[K] | None = None  # None: every right the law gives
    # Signed permission is asked for these rights (never for an opt-out: LEGAL.md).
    permission_required: bool = True
    # The person confirms directly, by email, that they gave the permission.
    person_confirms: bool = True
    who: str = "an authorised agent"
    note: str = ""

    def allows(self, kind: K) -> bool:
        return self.kinds is None or kind in self.kinds

    def needs_permission(self, kind: K) -> bool:
        return self.permission_required and kind not in NO_PROOF_KINDS

    def needs_confirmation(self, kind: K) -> bool:
        return self.person_confirms and kind not in NO_PROOF_KINDS


_GDPR = "Art. 12(2), 12(6); a third party acting on the person's documented authority"

AGENTS: dict[str, AgentRule] = {
    "gdpr": AgentRule(f"GDPR {_GDPR}"),
    "uk_gdpr": AgentRule(f"UK GDPR {_GDPR} (ICO: requests made on behalf of others)"),
    "ccpa": AgentRule(
        "Civ. Code 1798.135(e); 11 CCR 7063 (know, delete, correct), 7026 (opt-out), 7027 (limit)",
        note="11 CCR 7063(a): signed permission, and the consumer verifies or confirms directly",
    ),
    "lgpd": AgentRule("LGPD Art. 18 §3 (representante legalmente constituído)"),
    "us_va": AgentRule(
        "Va. Code 59.1-577(A): a parent or legal guardian for a known child",
        who=N_("a parent or legal guardian of a child under 13"),
    ),
    "us_co": AgentRule(
        "C.R.S. 6-1-1306(1)(a)(II): an authorised agent may opt out for the consumer",
        kinds=frozenset({K.OPT_OUT}),
    ),
    "us_ct": AgentRule(
        "Conn. Gen. Stat. 42-519: an authorised agent may opt out for the consumer",
        kinds=frozenset({K.OPT_OUT}),
        note="section number to be confirmed by counsel",
    ),
    "qc_law25": AgentRule("s. 30: the person's representative, heir or successor"),
}


def rule(regime_key: str) -> AgentRule | None:
    return AGENTS.get(regime_key)


# The form's line, in words the catalogues translate (dsar.i18n).
EVERY_RIGHT = N_("every right")
LINE = N_("%(law)s: %(rights)s")
LINE_AS = N_("%(law)s: %(rights)s, as %(who)s")


def summary(
    regimes: dict[str, object],
    labels: dict[K, str],
    translate: Callable[[str], str] | None = None,
) -> str:
    """Where an agent may act, in a line for the form: "GDPR (EU): every right; …", in the
    page's language when `translate` (gettext) is given."""
    tr = translate or (lambda text: text)
    parts = []
    for key, rule_ in AGENTS.items():
        name = tr(str(getattr(regimes[key], "name", key)))
        if rule_.kinds is None:
            rights = tr(EVERY_RIGHT)
        else:  # English lower-cases the labels inside the line; other languages keep them
            named = [tr(labels[k]) for k in sorted(rule_.kinds)]
            rights = ", ".join(n if translate else n.lower() for n in named)
        values = {"law": name, "rights": rights, "who": tr(rule_.who)}
        line = LINE if rule_.who == "an authorised agent" else LINE_AS
        parts.append(tr(line) % values)
    return "; ".join(parts)
