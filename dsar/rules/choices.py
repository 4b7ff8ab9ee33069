"""The choices a person makes in the preference centre (data, with citations).

Each is one use of their data they may refuse and allow again at any time, as easily as they
gave it: marketing by email or text message (GDPR Art. 21(2)-(3), UK PECR reg. 22, CAN-SPAM,
the TCPA), the sale or sharing of their personal information and its use for targeted
advertising (CCPA 1798.120 and 1798.135, and the state laws that copied it), and profiling
(GDPR Art. 21-22). The registry says which systems hold which choice: a system's connector
settings name, under `choices`, what opting out and opting in change there. The preference
centre offers the choices at least one enabled system holds.

`gpc`: a Global Privacy Control signal is an opt-out of this choice (11 CCR 7025(b);
Colo. 4 CCR 904-3 Rule 5). `by_request`: an opt-out request (the right to stop the sale,
sharing and marketing use of one's data) covers it, and its completion is recorded as such.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsar.i18n import N_


@dataclass(frozen=True)
class Choice:
    key: str
    label: str  # the choice, as the person reads it
    explained: str  # one sentence on what it covers
    yes: str  # the answer that allows it
    no: str  # the answer that refuses it
    citation: str
    gpc: bool = False
    by_request: bool = True


CHOICES = (
    Choice(
        "email_marketing",
        N_("Newsletters and marketing email"),
        N_("Our newsletters, offers and news about our products, by email."),
        N_("Yes, send them to me"),
        N_("No, do not send them"),
        "GDPR Art. 7(3), 21(2)-(3); UK PECR reg. 22; 15 U.S.C. 7704(a)(3)-(4) (CAN-SPAM)",
    ),
    Choice(
        "sms",
        N_("Marketing text messages (SMS)"),
        N_("Offers and news sent to your phone as text messages."),
        N_("Yes, send them to me"),
        N_("No, do not send them"),
        "GDPR Art. 7(3), 21(2)-(3); UK PECR reg. 22; 47 U.S.C. 227 and 47 CFR 64.1200 (TCPA)",
    ),
    Choice(
        "sale_sharing",
        N_("Sale or sharing of your personal information"),
        N_("Giving your details to other companies for money or for their advertising."),
        N_("Yes, you may sell or share it"),
        N_("No, do not sell or share it"),
        "Cal. Civ. Code 1798.120, 1798.135; 11 CCR 7025, 7026; Va. Code 59.1-577(A)(5)",
        gpc=True,
    ),
    Choice(
        "targeted_ads",
        N_("Targeted advertising"),
        N_("Choosing the advertising you see elsewhere from what you do on our sites."),
        N_("Yes, you may use it for targeted advertising"),
        N_("No, do not use it for targeted advertising"),
        "Cal. Civ. Code 1798.120, 1798.140(e), (ah); Va. Code 59.1-577(A)(5)(ii); "
        "Colo. Rev. Stat. 6-1-1306(1)(a)(I)(A)",
        gpc=True,
    ),
    Choice(
        "profiling",
        N_("Profiling"),
        N_("Analysing what you buy and do to predict your preferences or behaviour."),
        N_("Yes, you may profile me"),
        N_("No, do not profile me"),
        "GDPR Art. 21(1)-(2), 22; Va. Code 59.1-577(A)(5)(iii); "
        "Colo. Rev. Stat. 6-1-1306(1)(a)(I)(C)",
        by_request=False,
    ),
)
BY_KEY = {c.key: c for c in CHOICES}
KEYS = tuple(BY_KEY)
