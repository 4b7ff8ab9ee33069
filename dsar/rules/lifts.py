"""Lifting a restriction or an objection: why an officer may, and what the person is told
before it happens (data, with citations).

A restriction lasts while its ground lasts (GDPR Art. 18(1)): while the accuracy the person
contests is verified, while the company checks whether its legitimate grounds override the
person's objection. When the ground ends, or the person asks, it may be lifted; the person
"shall be informed by the controller before the restriction of processing is lifted"
(Art. 18(3)). An upheld objection ends only when the person withdraws it. LGPD's blocking
(Art. 18 IV) is lifted on the same grounds; the LGPD names no notice, and dsar gives it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsar.i18n import N_
from dsar.models import RequestKind as K

# The laws whose articles are cited below, by the name each regime cites them by.
LAW_NAMES = {"gdpr": "GDPR", "uk_gdpr": "UK GDPR"}


@dataclass(frozen=True)
class LiftReason:
    key: str
    label: str  # the officer's choice
    told: str  # the sentence the person reads, in the notice and in the confirmation
    article: str = ""  # the GDPR article that names the ground ("" where none does)

    def citation(self, regime: str) -> str:
        law = LAW_NAMES.get(regime)
        return f"{law} {self.article}" if law and self.article else ""


@dataclass(frozen=True)
class LiftRule:
    kind: K
    action: str  # the officer's button
    noun: str  # what is lifted, in a sentence: "the restriction"
    title: str  # the confirmation letter's title
    lifted: str  # the status line once done
    notice_article: str  # where the law asks to tell the person first
    reasons: tuple[LiftReason, ...]
    again: str  # what the person may do next
    subject: str = ""  # the notice's subject, with %(reference)s

    def reason(self, key: str) -> LiftReason | None:
        return next((r for r in self.reasons if r.key == key), None)

    def notice_citation(self, regime: str) -> str:
        law = LAW_NAMES.get(regime)
        return f"{law} {self.notice_article}" if law else ""


LIFTS: dict[K, LiftRule] = {
    K.RESTRICTION: LiftRule(
        kind=K.RESTRICTION,
        action="Lift the restriction",
        noun=N_("the restriction"),
        title=N_("Confirmation that the restriction is lifted"),
        lifted="Restriction lifted",
        notice_article="Art. 18(3)",
        reasons=(
            LiftReason(
                "accuracy_verified",
                "We have verified the accuracy of the data the person contested",
                N_(
                    "We have finished verifying the accuracy of the data you contested; the "
                    "restriction you asked for while we checked it has ended."
                ),
                "Art. 18(1)(a)",
            ),
            LiftReason(
                "grounds_verified",
                "We have verified whether our legitimate grounds override the person's",
                N_(
                    "We have finished checking whether our legitimate grounds override yours; "
                    "the restriction you asked for while we checked has ended."
                ),
                "Art. 18(1)(d)",
            ),
            LiftReason(
                "person_asked",
                "The person asked us to lift it",
                N_("You asked us to lift the restriction."),
            ),
            LiftReason(
                "consent",
                "The person consented to a use of their data",
                N_("You consented to our using your data again."),
                "Art. 18(2)",
            ),
        ),
        subject=N_("We are lifting the restriction on your request %(reference)s"),
        again=N_(
            "If you still contest the accuracy of your data or the use we make of it, you may "
            "ask us again to restrict it, or object to it."
        ),
    ),
    K.OBJECTION: LiftRule(
        kind=K.OBJECTION,
        action="Withdraw the objection",
        noun=N_("your objection"),
        title=N_("Confirmation that your objection is withdrawn"),
        lifted="Objection withdrawn",
        notice_article="Art. 21",
        reasons=(
            LiftReason(
                "person_withdrew",
                "The person withdrew the objection",
                N_("You told us you withdraw your objection."),
            ),
        ),
        subject=N_("Your objection (request %(reference)s) is being withdrawn"),
        again=N_("You may object again at any time."),
    ),
}
