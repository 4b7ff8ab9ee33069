"""The closed list of reasons to refuse a request, with each regime's citations."""

from __future__ import annotations

from dsar.i18n import N_
from dsar.rules.types import DenialReason

LABELS = {
    "not_verified": N_("We could not verify your identity"),
    "no_match": N_("We hold no data about you"),
    "manifestly_unfounded": N_("The request is manifestly unfounded or excessive"),
    "rights_of_others": N_("Answering would adversely affect the rights of others"),
    "erasure_exception": N_("The law requires or allows us to keep this data"),
    "compelling_grounds": N_(
        "We have compelling legitimate grounds for the processing that override your "
        "interests, or need it for legal claims"
    ),
    "too_many_requests": N_("You have made this request too many times"),
    "lawful_processing": N_("The processing you object to complies with the law"),
    "outside_jurisdiction": N_("This law does not apply to you or to us"),
    "suspected_fraud": N_("We suspect the request is fraudulent"),
    "other": N_("Another reason (explained below)"),
}


def reasons(citations: dict[str, str]) -> tuple[DenialReason, ...]:
    """Build a regime's list from {reason key: citation}; `other` always needs free text."""
    unknown = set(citations) - set(LABELS)
    if unknown:
        raise ValueError(f"unknown denial reasons: {sorted(unknown)}")
    built = [DenialReason(key, LABELS[key], cite) for key, cite in citations.items()]
    built.append(DenialReason("other", LABELS["other"], "free text", free_text_required=True))
    return tuple(built)


def gdpr_like(prefix: str) -> tuple[DenialReason, ...]:
    return reasons(
        {
            "not_verified": f"{prefix} Art. 12(2), 12(6)",
            "no_match": f"{prefix} Art. 11(2)",
            "manifestly_unfounded": f"{prefix} Art. 12(5)",
            "rights_of_others": f"{prefix} Art. 15(4)",
            "erasure_exception": f"{prefix} Art. 17(3)(a)-(e)",
            "compelling_grounds": f"{prefix} Art. 21(1)",
            "outside_jurisdiction": f"{prefix} Art. 3 (territorial scope)",
            "suspected_fraud": f"{prefix} Art. 12(6)",
        }
    )


def us_state(code: str) -> tuple[DenialReason, ...]:
    return reasons(
        {
            "not_verified": f"{code} (request not authenticated)",
            "no_match": f"{code}",
            "manifestly_unfounded": f"{code} (manifestly unfounded, excessive or repetitive)",
            "erasure_exception": f"{code} (exemptions)",
            "outside_jurisdiction": f"{code} (applicability)",
            "suspected_fraud": f"{code} (fraud)",
        }
    )
