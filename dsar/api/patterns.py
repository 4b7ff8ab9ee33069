"""What the API takes, as regular expressions: the OpenAPI document states them (dsar.api.openapi),
the body schemas apply them (dsar.api.schemas), and tests/test_openapi_contract.py checks them
against dsar.inputs.
"""

from __future__ import annotations

# -- text, as dsar.inputs takes it, in patterns that mean the same in ECMA-262 and Python ----
# (tests/test_openapi_contract.py checks them against dsar.inputs for every BMP character).
# Refused anywhere in one-line text: control characters, line and paragraph separators and
# noncharacters; multi-line text also takes tab, line feed and carriage return.
REFUSED = r"\u0000-\u001f\u007f-\u009f\u2028\u2029\ufdd0-\ufdef\ufffe\uffff"
REFUSED_MULTILINE = (
    r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufdd0-\ufdef\ufffe\uffff"
)
# Trimmed from both ends (white space and invisible characters): text made only of these is
# blank; EDGE is the part of them one-line text may hold.
TRIMMED = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u180e\u2000-\u200d\u2028\u2029"
    r"\u202f\u205f\u2060\u3000\ufeff"
)
EDGE = r"\u0020\u00a0\u1680\u180e\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff"
# White space, control characters and backslashes, which no transfer address holds.
NOT_IN_URL = (
    r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    r"\ufdd0-\ufdef\ufffe\uffff\\"
)


def text_pattern(*, multiline: bool = False, required: bool = False) -> str:
    """What dsar.inputs.clean takes: no refused character and, when required, one that is
    not trimmed away."""
    refused = REFUSED_MULTILINE if multiline else REFUSED
    if not required:
        return f"^[^{refused}]*$"
    return f"^[^{refused}]*[^{refused}{TRIMMED}][^{refused}]*$"


BLANK_PATTERN = f"^[{EDGE}]*$"
# An email address as the API takes it: ASCII, a dot-atom before the @ and a host name with
# a top-level part of letters after it (what marshmallow's Email check also takes), nothing
# around it. (In a correction, blank for none, and white space around it is trimmed.)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL_CORE = f"{_ATOM}(?:\\.{_ATOM})*@(?:{_LABEL}\\.)+[A-Za-z]{{2,63}}"
EMAIL_PATTERN = f"^{_EMAIL_CORE}$"
EMAIL_OR_BLANK_PATTERN = f"^[{EDGE}]*(?:{_EMAIL_CORE}[{EDGE}]*)?$"
# A request's reference: DSAR-<year received>-<number, at least six digits>.
REFERENCE = r"^DSAR-[0-9]{4}-[0-9]{6,}$"
# dsar.inputs.phone_problem on the trimmed value: digits, spaces and + ( ) - . / only, with
# 5 to 20 digits; or blank (no phone).
PHONE_CORE = r"\+?[ ()./-]*(?:[0-9][ ()./-]*){5,20}"
PHONE_PATTERN = f"^[{EDGE}]*(?:{PHONE_CORE})?[{EDGE}]*$"
# dsar.transfer_guard.parse: https (any case), no user name or password, a host; or blank.
TRANSFER_URL_PATTERN = (
    f"^[{EDGE}]*(?:[Hh][Tt][Tt][Pp][Ss]://[^{NOT_IN_URL}@/?#]+(?:[/?#][^{NOT_IN_URL}]*)?)?"
    f"[{EDGE}]*$"
)
# Base64 (RFC 4648, padded, no line breaks) of a file that starts as a PDF ("%PDF-"), a PNG
# or a JPEG does: dsar.services.uploads.media_type reads the first bytes.
_B64 = "[A-Za-z0-9+/]"
_B64_REST = f"(?:{_B64}{{4}})*(?:{_B64}{{2}}==|{_B64}{{3}}=)?"
PERMISSION_PATTERN = (
    f"^(?:JVBERi[0-3](?:=|{_B64}{_B64_REST})|iVBORw0KGg[o-r](?:=|{_B64}{_B64_REST})"
    f"|/9j/{_B64_REST})$"
)
