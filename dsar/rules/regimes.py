"""Rule sets per regime, as data with the legal citation beside each value (shared/LEGAL.md).

Citations are given at the level of article or section; values marked *unverified* in
LEGAL.md are configurable (see `dsar.rules.configure`) and say so in the regime's notes.
"""

from __future__ import annotations

from dsar.i18n import N_
from dsar.models import RequestKind as K
from dsar.rules.denials import gdpr_like, reasons, us_state
from dsar.rules.types import (
    Appeal,
    Extension,
    Pause,
    Period,
    Regime,
    Requirement,
    Unit,
    Verification,
)

_CA = ("US", "CA")
_NONE = Verification.NONE

_GDPR_KINDS = {
    K.ACCESS: "GDPR Art. 15",
    K.CORRECTION: "GDPR Art. 16",
    K.DELETION: "GDPR Art. 17",
    K.RESTRICTION: "GDPR Art. 18",
    K.PORTABILITY: "GDPR Art. 20",
    K.OBJECTION: "GDPR Art. 21(1)",
    K.OPT_OUT: "GDPR Art. 21(2)-(3) (direct marketing), Art. 7(3) (consent)",
}
_US_STATE_KINDS = {
    K.ACCESS: "right to access",
    K.CORRECTION: "right to correct",
    K.DELETION: "right to delete",
    K.PORTABILITY: "right to a portable copy",
    K.OPT_OUT: "right to opt out of targeted advertising, sale and profiling",
}


def _gdpr_verification(prefix: str) -> dict[K, Requirement]:
    # An objection to direct marketing is absolute (Art. 21(3)): nothing to verify.
    return {K.OPT_OUT: Requirement(_NONE, f"{prefix} Art. 21(3)")}


_STATE_SUMMARIES = {
    "us_va": N_(
        "Residents of Virginia may see, correct, delete and take a copy of their data, and "
        "opt out of targeted advertising, sale and profiling."
    ),
    "us_co": N_(
        "Residents of Colorado may see, correct, delete and take a copy of their data, and "
        "opt out of targeted advertising, sale and profiling."
    ),
    "us_ct": N_(
        "Residents of Connecticut may see, correct, delete and take a copy of their data, and "
        "opt out of targeted advertising, sale and profiling."
    ),
}


def _state(key: str, name: str, law: str, section: str, appeal: Appeal, complaint: str) -> Regime:
    code = f"{law} {section}"
    return Regime(
        key=key,
        name=name,
        law=law,
        summary=_STATE_SUMMARIES[key],
        kinds={k: f"{code}, {v}" for k, v in _US_STATE_KINDS.items()},
        respond=Period(45, Unit.DAYS, f"{code}: 45 days of receipt"),
        extension=Extension(
            Period(45, Unit.DAYS, f"{code}: once by 45 more days"),
            citation=f"{code}: extension when reasonably necessary, told within the first 45",
        ),
        verification={K.OPT_OUT: Requirement(_NONE, f"{code}: opt-outs need no authentication")},
        default_verification=Requirement(Verification.EMAIL, f"{code}: authenticated request"),
        denials=us_state(code),
        appeal=appeal,
        complaint=complaint,
    )


_GDPR_EXTENSION_NOTE = "the person is told of the extension, with reasons, within the first month"

REGIMES: dict[str, Regime] = {
    "gdpr": Regime(
        key="gdpr",
        name=N_("European Union (GDPR)"),
        law="Regulation (EU) 2016/679",
        summary=N_(
            "In the EU you may see the data we hold about you, correct it, have it deleted, "
            "restrict or object to its use, take a copy to another service, and stop direct "
            "marketing at any time."
        ),
        kinds=_GDPR_KINDS,
        respond=Period(
            1,
            Unit.MONTHS,
            "GDPR Art. 12(3)",
            counting_note=(
                "the day of receipt is not counted (Reg. 1182/71 Art. 3); the month ends on the "
                "same-numbered day, or on the month's last day when it has none"
            ),
        ),
        extension=Extension(
            Period(2, Unit.MONTHS, "GDPR Art. 12(3): by two further months"),
            citation="GDPR Art. 12(3)",
            note=_GDPR_EXTENSION_NOTE,
        ),
        pause=Pause(
            ("identity",),
            "EDPB Guidelines 01/2022 on the right of access, paras. 64-77",
            note="regulators accept a pause while identity is being confirmed",
        ),
        verification=_gdpr_verification("GDPR"),
        default_verification=Requirement(Verification.EMAIL, "GDPR Art. 12(6)"),
        denials=gdpr_like("GDPR"),
        complaint=N_(
            "You may complain to your data protection supervisory authority (GDPR Art. 77)."
        ),
        notes=(
            "Reg. 1182/71 Art. 3(4) also moves a period ending on a public holiday or weekend "
            "to the next working day; which member state's holidays apply is not settled, so "
            "dsar does not roll GDPR dates (a conservative choice: never later).",
        ),
    ),
    "uk_gdpr": Regime(
        key="uk_gdpr",
        name=N_("United Kingdom (UK GDPR)"),
        law="UK GDPR and the Data Protection Act 2018, as amended by the DUA Act 2025",
        summary=N_(
            "In the UK you have the same rights as in the EU: see, correct, delete, restrict, "
            "object, take a copy, and stop direct marketing."
        ),
        kinds={k: v.replace("GDPR", "UK GDPR") for k, v in _GDPR_KINDS.items()},
        respond=Period(
            1,
            Unit.MONTHS,
            "UK GDPR Art. 12(3); ICO guidance on time limits",
            roll_to_working_day=True,
            calendar=("GB", "ENG"),
            counting_note=(
                "the day of receipt is day one; the month ends on the corresponding date, or the "
                "month's last day; a weekend or bank holiday moves it to the next working day"
            ),
        ),
        extension=Extension(
            Period(
                2,
                Unit.MONTHS,
                "UK GDPR Art. 12(3): by two further months",
                roll_to_working_day=True,
                calendar=("GB", "ENG"),
            ),
            citation="UK GDPR Art. 12(3)",
            note=_GDPR_EXTENSION_NOTE,
        ),
        pause=Pause(
            ("identity", "clarification", "fee"),
            "UK GDPR Art. 12A (inserted by the Data (Use and Access) Act 2025)",
            note="the clock stops until the information or fee arrives",
        ),
        verification=_gdpr_verification("UK GDPR"),
        default_verification=Requirement(Verification.EMAIL, "UK GDPR Art. 12(6)"),
        denials=gdpr_like("UK GDPR"),
        complaint=N_("You may complain to the Information Commissioner's Office (ico.org.uk)."),
    ),
    "ccpa": Regime(
        key="ccpa",
        name=N_("California (CCPA/CPRA)"),
        law="Cal. Civ. Code 1798.100 ff.; 11 CCR 7000 ff.",
        summary=N_(
            "California residents may know what personal information we collect, delete it, "
            "correct it, opt out of its sale or sharing, and limit the use of sensitive "
            "information. Opting out never needs proof of identity."
        ),
        kinds={
            K.ACCESS: "Civ. Code 1798.110, 1798.115 (right to know)",
            K.DELETION: "Civ. Code 1798.105 (right to delete)",
            K.CORRECTION: "Civ. Code 1798.106 (right to correct)",
            K.OPT_OUT: "Civ. Code 1798.120 (right to opt out of sale or sharing)",
            K.LIMIT_SENSITIVE: "Civ. Code 1798.121 (right to limit)",
        },
        respond=Period(
            45,
            Unit.DAYS,
            "11 CCR 7021(b): 45 calendar days from receipt, whatever time verification takes",
        ),
        respond_by_kind={
            K.OPT_OUT: Period(
                15, Unit.BUSINESS_DAYS, "11 CCR 7026(f): 15 business days", calendar=_CA
            ),
            K.LIMIT_SENSITIVE: Period(
                15, Unit.BUSINESS_DAYS, "11 CCR 7027(g): 15 business days", calendar=_CA
            ),
        },
        acknowledge_by_kind={
            kind: Period(10, Unit.BUSINESS_DAYS, "11 CCR 7021(a): 10 business days", calendar=_CA)
            for kind in (K.ACCESS, K.DELETION, K.CORRECTION)
        },
        extension=Extension(
            Period(45, Unit.DAYS, "11 CCR 7021(b): 45 more days, 90 in all"),
            citation="Civ. Code 1798.130(a)(2); 11 CCR 7021(b): notice and explanation",
        ),
        no_extension_kinds=frozenset({K.OPT_OUT, K.LIMIT_SENSITIVE}),
        verification={
            K.OPT_OUT: Requirement(_NONE, "11 CCR 7026(d): no verification for opt-outs"),
            K.LIMIT_SENSITIVE: Requirement(_NONE, "11 CCR 7027(e): no verification to limit"),
        },
        default_verification=Requirement(Verification.EMAIL, "11 CCR 7060-7062"),
        denials=reasons(
            {
                "not_verified": "11 CCR 7021(b), 7060-7062",
                "no_match": "11 CCR 7024",
                "manifestly_unfounded": "Civ. Code 1798.145(h)(3)",
                "rights_of_others": "Civ. Code 1798.145(k)",
                "erasure_exception": "Civ. Code 1798.105(d)",
                "too_many_requests": "Civ. Code 1798.130(b): know at most twice in 12 months",
                "outside_jurisdiction": "Civ. Code 1798.140 (consumer: California resident)",
                "suspected_fraud": "11 CCR 7060-7062",
            }
        ),
        complaint=N_("You may contact the California Privacy Protection Agency (cppa.ca.gov)."),
        notes=("The CCPA has no pause: the 45 days run from receipt (11 CCR 7021(b)).",),
    ),
    "lgpd": Regime(
        key="lgpd",
        name=N_("Brazil (LGPD)"),
        law="Lei 13.709/2018",
        summary=N_(
            "In Brazil you may confirm that we process your data, see it, correct it, have it "
            "anonymised, blocked or deleted, take a copy, learn whom it is shared with, and "
            "withdraw consent."
        ),
        kinds={
            K.ACCESS: "LGPD Art. 18 I-II",
            K.CORRECTION: "LGPD Art. 18 III",
            K.RESTRICTION: "LGPD Art. 18 IV (blocking)",
            K.DELETION: "LGPD Art. 18 IV, VI",
            K.PORTABILITY: "LGPD Art. 18 V",
            K.OPT_OUT: "LGPD Art. 18 IX (revocation of consent)",
            K.OBJECTION: "LGPD Art. 18 §2",
        },
        respond=Period(
            15,
            Unit.DAYS,
            "LGPD Art. 19 II: 15 days for the full declaration",
            counting_note=(
                "calendar days; the Act sets 15 days for confirmation and access, and dsar "
                "applies it to the other kinds too (a product choice)"
            ),
        ),
        acknowledge_by_kind={
            kind: Period(0, Unit.DAYS, "LGPD Art. 19 I: simplified confirmation immediately")
            for kind in (K.ACCESS, K.PORTABILITY)
        },
        verification={K.OPT_OUT: Requirement(_NONE, "LGPD Art. 8 §5 (revocation made easy)")},
        default_verification=Requirement(Verification.EMAIL, "LGPD Art. 18 §2"),
        denials=reasons(
            {
                "not_verified": "LGPD Art. 18 §4",
                "no_match": "LGPD Art. 18 §4 I",
                "erasure_exception": "LGPD Art. 16",
                "lawful_processing": "LGPD Art. 18 §2 (objection only to unlawful processing)",
                "outside_jurisdiction": "LGPD Arts. 3-4",
                "suspected_fraud": "LGPD Art. 18 §4",
            }
        ),
        complaint=N_("You may petition the ANPD (Autoridade Nacional de Proteção de Dados)."),
        notes=("The Act sets no extension and no pause.",),
    ),
    "us_va": _state(
        "us_va",
        N_("Virginia (VCDPA)"),
        "Va. Code",
        "59.1-577",
        Appeal(
            Period(60, Unit.DAYS, "Va. Code 59.1-577(C): 60 days of receipt of the appeal"),
            "Va. Code 59.1-577(C)",
            authority=N_(
                "the Virginia Office of the Attorney General, Consumer Protection Section"
            ),
            complaint_url="https://www.oag.state.va.us/consumer-protection/",
        ),
        N_(
            "You may appeal our decision; we decide appeals within 60 days, and you may then "
            "contact the Virginia Attorney General."
        ),
    ),
    "us_co": _state(
        "us_co",
        N_("Colorado (CPA)"),
        "C.R.S.",
        "6-1-1306",
        Appeal(
            Period(45, Unit.DAYS, "C.R.S. 6-1-1306(3)(b): 45 days"),
            "C.R.S. 6-1-1306(3)",
            extension=Period(60, Unit.DAYS, "C.R.S. 6-1-1306(3)(b): 60 more (unverified)"),
            note="the 60-day appeal extension is unverified: DSAR_CO_APPEAL_EXTENSION_DAYS",
            authority=N_("the Colorado Attorney General, Department of Law"),
            complaint_url="https://coag.gov/file-complaint/",
        ),
        N_(
            "You may appeal our decision; we decide appeals within 45 days, and you may then "
            "contact the Colorado Attorney General."
        ),
    ),
    "us_ct": _state(
        "us_ct",
        N_("Connecticut (CTDPA)"),
        "Conn. Gen. Stat.",
        "42-520",
        Appeal(
            Period(60, Unit.DAYS, "Conn. Gen. Stat. 42-520(d): 60 days"),
            "Conn. Gen. Stat. 42-520(d)",
            authority=N_("the Connecticut Office of the Attorney General"),
            complaint_url="https://portal.ct.gov/ag/",
        ),
        N_(
            "You may appeal our decision; we decide appeals within 60 days, and you may then "
            "contact the Connecticut Attorney General."
        ),
    ),
    "qc_law25": Regime(
        key="qc_law25",
        name=N_("Québec (Law 25)"),
        law="Act respecting the protection of personal information in the private sector",
        summary=N_(
            "In Québec you may see and correct the information we hold, receive it in a "
            "structured format, and withdraw your consent."
        ),
        kinds={
            K.ACCESS: "s. 27",
            K.CORRECTION: "s. 28",
            K.PORTABILITY: "s. 27 (since 2024-09-22)",
            K.OPT_OUT: "s. 8.3 (withdrawal of consent)",
        },
        respond=Period(30, Unit.DAYS, "s. 32: 30 days, in writing; silence counts as refusal"),
        verification={K.OPT_OUT: Requirement(_NONE, "s. 8.3 (withdrawal of consent)")},
        default_verification=Requirement(Verification.EMAIL, "s. 30 (proof of identity)"),
        denials=reasons(
            {
                "not_verified": "s. 30",
                "no_match": "s. 32",
                "rights_of_others": "s. 40",
                "outside_jurisdiction": "s. 1",
            }
        ),
        complaint=N_("You may apply to the Commission d'accès à l'information."),
        notes=(
            "No extension found in the Act (unverified): none by default, configurable with "
            "DSAR_QC_EXTENSION_DAYS.",
        ),
    ),
}
