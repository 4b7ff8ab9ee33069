"""Only the person's law is cited to them: sort a citation list by the law it names.

A registry entry may cite several privacy laws at once ("HGB s.257; GDPR Art. 17(3)(b);
CCPA 1798.105(d)(8)"), because one system serves people under all of them. A letter under
the GDPR keeps the GDPR part and the national law (HGB) that applies whatever the privacy
law, and drops the CCPA part; a CCPA letter does the reverse.
"""

from __future__ import annotations

import re

# What names each privacy law in a citation; a part naming none of them is kept for all.
# A plain "GDPR" is the EU text, which the UK kept as the UK GDPR: both may read it.
FAMILIES: dict[str, tuple[str, ...]] = {
    "gdpr": (r"(?<!UK )\bGDPR\b",),
    "uk_gdpr": (r"\bGDPR\b", r"\bDPA 2018\b"),
    "ccpa": (r"\bCCPA\b", r"\bCPRA\b", r"\bCiv\. Code\b", r"\bCCR\b"),
    "lgpd": (r"\bLGPD\b",),
    "us_va": (r"\bVa\. Code\b", r"\bVCDPA\b"),
    "us_co": (r"\bC\.R\.S\.", r"\bCPA\b"),
    "us_ct": (r"\bConn\. Gen\. Stat\.", r"\bCTDPA\b"),
    "qc_law25": (r"\bQuébec\b", r"\bLaw 25\b", r"\bPrivate sector Act\b"),
}
_PATTERNS = {key: [re.compile(p) for p in pats] for key, pats in FAMILIES.items()}


def laws_named(part: str) -> set[str]:
    """The regimes whose letters may cite this piece of citation."""
    return {key for key, pats in _PATTERNS.items() if any(p.search(part) for p in pats)}


def only_for(regime_key: str, citation: str) -> str:
    """The parts of `citation` (separated by ';') that the person's law may read."""
    kept = []
    for part in (p.strip() for p in citation.split(";")):
        if not part:
            continue
        named = laws_named(part)
        if not named or regime_key in named:
            kept.append(part)
    return "; ".join(kept)


# Our English words after a legal reference: "…: 45 days of receipt", "…, right to delete",
# "…; ICO guidance", "… (right to delete)" (a parenthesis that opens on a lower-case word).
_GLOSSES = (
    re.compile(r":\s.*$"),
    re.compile(r";\s.*$"),
    re.compile(r",\s+right to\b.*$"),
    re.compile(r"\s\((?=[a-z0-9])[^)]*\)"),
)


def cited(citation: str) -> str:
    """A legal reference as shown: whole in English; in another language without our English
    gloss ("Civ. Code 1798.105 (right to delete)" -> "Civ. Code 1798.105")."""
    from dsar.i18n import english

    if not citation or english():
        return citation
    return reference(citation)


def reference(text: str) -> str:
    """The legal reference alone, for a page in another language than the glosses':
    "Civ. Code 1798.105 (right to delete)" -> "Civ. Code 1798.105"."""
    for gloss in _GLOSSES:
        text = gloss.sub("", text)
    return text.strip()
