"""The company speaks as itself on every letter: who it is, where, and whom to ask.

GDPR Art. 13(1)(a)-(b) and 14(1)(a)-(b): the controller's identity and contact details, and
the data protection officer's; Art. 27: the representative of a controller outside the EU
(the UK GDPR's Art. 27 likewise for the UK). Every letter shows the header and signs off
with the same block; the representative appears only under the law that requires one.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from dsar.i18n import N_

# The representative each law asks for, by the setting that names it.
REPRESENTATIVES = {
    "gdpr": ("DSAR_EU_REPRESENTATIVE", N_("Our representative in the EU (GDPR Art. 27)")),
    "uk_gdpr": ("DSAR_UK_REPRESENTATIVE", N_("Our representative in the UK (UK GDPR Art. 27)")),
}


@dataclass(frozen=True)
class Company:
    name: str
    address: list[str]
    contact: str
    dpo: str
    representative: str
    representative_title: str
    signatory: str
    signatory_title: str
    controller_title: str  # "Data controller" (GDPR, LGPD, Québec) or "Business" (US laws)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(";", "\n").splitlines() if line.strip()]


def company(regime_key: str) -> Company:
    config = current_app.config
    setting, title = REPRESENTATIVES.get(regime_key, ("", ""))
    signer = [part.strip() for part in config["DSAR_SIGNATORY"].split(",", 1)]
    return Company(
        name=config["DSAR_COMPANY_NAME"],
        address=_lines(config["DSAR_COMPANY_ADDRESS"]),
        contact=config["DSAR_PRIVACY_CONTACT"] or config["DSAR_MAIL_FROM"],
        dpo=config["DSAR_DPO"],
        representative=config[setting] if setting else "",
        representative_title=title,
        signatory=signer[0] if signer and signer[0] else "",  # else "The privacy team"
        signatory_title=signer[1] if len(signer) > 1 else "",
        controller_title=N_("Business")
        if regime_key.startswith(("ccpa", "us_"))
        else N_("Data controller"),
    )
