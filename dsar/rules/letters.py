"""What the access answer's cover letter must say, per regime, as data with citations.

Each item is either built from the systems' `disclosure` metadata (one line per system: a
`field` of `DataSystem.disclosure`), or a fixed statement. The template walks these items;
no code branches on a regime's name (shared/LEGAL.md, "What a response must contain").
"""

from __future__ import annotations

from dataclasses import dataclass

from dsar.i18n import N_
from dsar.rules.withholding import find, redaction_reasons

# Shown where a system's owner did not describe it: the letter never invents an answer.
NOT_STATED = N_("not stated by the system owner")
# The form a withheld value takes in the letter and the data files (its citation filled in).
WITHHELD_VALUE = N_("held — not disclosed (%(citation)s)")

# Some values are never disclosed (11 CCR 7024(d): SSN, account numbers, passwords...); we
# show that they exist. Applied under every regime, each citing its own law: a letter that
# leaks a password cannot be taken back.
WITHHELD_CITATIONS = {"ccpa": "11 CCR 7024(d)"}


def withheld_citation(regime_key: str) -> str:
    if regime_key in WITHHELD_CITATIONS:
        return WITHHELD_CITATIONS[regime_key]
    reason = find(redaction_reasons(regime_key), "security")
    return reason.citation if reason else ""


def withheld_value(regime_key: str) -> str:
    """In the language being rendered (the texts here are English, marked for translation;
    the letter's templates translate them with the parameters each object carries)."""
    from flask_babel import gettext

    return gettext(WITHHELD_VALUE, citation=withheld_citation(regime_key))


@dataclass(frozen=True)
class Item:
    """One point the letter must answer, with the provision that requires it."""

    heading: str
    citation: str
    # Disclosure keys whose values are listed per system ("purposes", "recipients", ...);
    # empty for a fixed statement.
    fields: tuple[str, ...] = ()
    # A fixed statement.
    text: str = ""
    # "absent": the systems where nothing was found (LGPD Art. 19 II, absence of records);
    # "criteria": what we searched for, and where; "complaint": the regime's complaint line.
    computed: str = ""


@dataclass(frozen=True)
class Note:
    text: str
    citation: str


@dataclass(frozen=True)
class Letter:
    """The cover letter of an access answer under one regime."""

    title: str
    intro: str  # may name %(law)s and %(citation)s, filled from the fields below
    items: tuple[Item, ...]
    notes: tuple[Note, ...] = ()
    # Show the 12-month look-back (CCPA): "%(lookback_from)s to %(received_on)s".
    lookback: Note | None = None
    law: str = ""
    citation: str = ""


def _gdpr(law: str) -> Letter:
    art = f"{law} Art. 15(1)"
    return Letter(
        title=N_("Your personal data, and how we use it"),
        intro=N_(
            "You have the right to know whether we process personal data about you, to a copy "
            "of it, and to the information below (%(law)s Art. 15). The copy is in the sections "
            "that follow, and complete in the files data.json and data.csv attached to this PDF."
        ),
        law=law,
        items=(
            Item(N_("Why we use your data (purposes)"), f"{art}(a)", fields=("purposes",)),
            Item(N_("Legal basis"), f"{law} Art. 13(1)(c), 6(1)", fields=("legal_basis",)),
            Item(N_("Categories of personal data"), f"{art}(b)", fields=("categories",)),
            Item(
                N_("Who receives it (recipients, and countries outside the EEA/UK)"),
                f"{art}(c), Art. 15(2)",
                fields=("recipients", "third_countries"),
            ),
            Item(N_("How long we keep it, or how we decide"), f"{art}(d)", fields=("retention",)),
            Item(
                N_("Your rights to rectification, erasure, restriction and objection"),
                f"{art}(e); Arts. 16, 17, 18, 21",
                text=N_(
                    "You may ask us to correct inaccurate data, to erase it, to restrict its use, "
                    "and object to its use, including for direct marketing at any time. Reply to "
                    "this letter or make a new request, quoting our reference."
                ),
            ),
            Item(N_("Your right to complain"), f"{art}(f); Art. 77", computed="complaint"),
            Item(N_("Where the data came from, if not from you"), f"{art}(g)", fields=("source",)),
            Item(
                N_("Automated decision-making, including profiling, and its logic"),
                f"{art}(h); Art. 22",
                fields=("automated_decisions",),
            ),
        ),
    )


_CCPA = Letter(
    title=N_("The personal information we hold about you"),
    intro=N_(
        "You asked to know what personal information we have collected about you "
        "(Civ. Code 1798.110, 1798.115). Below are the categories, their sources, why we use "
        "them and whom we disclose them to, then the specific pieces we hold; the complete set "
        "is in the files data.json and data.csv attached to this PDF."
    ),
    items=(
        Item(
            N_("Categories of personal information"),
            "Civ. Code 1798.110(a)(1); 11 CCR 7024(i)",
            fields=("ccpa_categories",),
        ),
        Item(
            N_("Categories of sources"),
            "Civ. Code 1798.110(a)(2); 11 CCR 7024(i)",
            fields=("source",),
        ),
        Item(
            N_("Business or commercial purposes"),
            "Civ. Code 1798.110(a)(3); 11 CCR 7024(i)",
            fields=("purposes",),
        ),
        Item(
            N_("Categories of third parties we disclose it to"),
            "Civ. Code 1798.110(a)(4), 1798.115; 11 CCR 7024(i)",
            fields=("recipients",),
        ),
        Item(
            N_("The specific pieces of personal information"),
            "Civ. Code 1798.110(a)(5); 11 CCR 7024(c)",
            text=N_(
                "Every record we found is listed by system in the sections that follow (the first "
                "rows of long tables), and in full in the attached data.json and data.csv."
            ),
        ),
        Item(N_("Your right to complain"), "Civ. Code 1798.199.45", computed="complaint"),
    ),
    lookback=Note(
        N_(
            "This answer covers at least the 12 months before we received your request, "
            "%(lookback_from)s to %(received_on)s; every record below was found whatever its date. "
            "You may ask for personal information we collected earlier, back to 1 January 2022."
        ),
        "Civ. Code 1798.130(a)(2)(B); 11 CCR 7024(h)",
    ),
)

_LGPD = Letter(
    title=N_("Full declaration of your personal data"),
    intro=N_(
        "You asked to confirm whether we process your personal data and to access it "
        "(LGPD Art. 18 I-II). This is our full declaration (Art. 19 II): the origin of the data, "
        "where we hold no records, the criteria we used, and the purposes of the processing. "
        "The complete data is in the files data.json and data.csv attached to this PDF."
    ),
    items=(
        Item(N_("Origin of the data"), "LGPD Art. 19 II", fields=("source",)),
        Item(N_("Absence of records"), "LGPD Art. 19 II", computed="absent"),
        Item(N_("Criteria used"), "LGPD Art. 19 II", computed="criteria"),
        Item(N_("Purpose of the processing"), "LGPD Art. 19 II", fields=("purposes",)),
        Item(N_("Legal basis"), "LGPD Art. 7, 11", fields=("legal_basis",)),
        Item(N_("Whom we share it with"), "LGPD Art. 18 VII", fields=("recipients",)),
        Item(N_("Your right to petition"), "LGPD Art. 18 §1", computed="complaint"),
    ),
)


def _plain(citation: str) -> Letter:
    return Letter(
        title=N_("Your personal data"),
        citation=citation,
        intro=N_(
            "You asked to access the personal data we hold about you (%(citation)s). Below are "
            "the categories of data we hold, why we use them and whom we share them with, then "
            "the data itself; the complete data is in the files data.json and data.csv attached "
            "to this PDF."
        ),
        items=(
            Item(N_("Categories of personal data"), citation, fields=("categories",)),
            Item(N_("Why we use your data (purposes)"), citation, fields=("purposes",)),
            Item(N_("Whom we share it with"), citation, fields=("recipients",)),
            Item(N_("If you disagree"), citation, computed="complaint"),
        ),
    )


ACCESS_LETTERS: dict[str, Letter] = {
    "gdpr": _gdpr("GDPR"),
    "uk_gdpr": _gdpr("UK GDPR"),
    "ccpa": _CCPA,
    "lgpd": _LGPD,
    "us_va": _plain("Va. Code 59.1-577(A)(1)"),
    "us_co": _plain("C.R.S. 6-1-1306(1)(b)"),
    "us_ct": _plain("Conn. Gen. Stat. 42-518(a)(1)"),
    "qc_law25": _plain("Québec private sector Act, s. 27"),
}


WITHHELD_NOTE = N_(
    "We hold data of these kinds about you, but do not show their values, because "
    "disclosing them would put you at risk (identity theft, account takeover). Each value "
    "appears as “%(value)s”."
)


def withheld_note(regime_key: str) -> Note:
    """The note on values never shown, in the language being rendered."""
    from flask_babel import gettext

    text = gettext(WITHHELD_NOTE, value=withheld_value(regime_key))
    return Note(text, withheld_citation(regime_key))


def access_letter(regime_key: str) -> Letter:
    """The access letter for a regime; an unknown one gets the plain letter."""
    return ACCESS_LETTERS.get(regime_key) or _plain("the applicable law")
