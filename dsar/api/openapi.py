"""The OpenAPI document says what the API does: what apispec makes of dsar.api.schemas,
completed where JSON Schema needs the rule tables (which law grants which right, where an
agent may act and with what proof, what a correction must hold).

`complete(spec)` runs once the API's views are in the document (ApiBlueprint).
"""

from __future__ import annotations

import copy
from typing import Any

from apispec import APISpec

from dsar.api import patterns
from dsar.inputs import LIMITS
from dsar.models import RequestKind
from dsar.rules import KIND_LABELS, OFFERED_KINDS, REGIMES
from dsar.rules import agents as agent_rules
from dsar.rules import corrections as correction_rules
from dsar.services import correcting

SECURITY_SCHEME = "apiKey"
SECURITY = [{SECURITY_SCHEME: []}]
# The operations' ids, for links and for clients generated from the document.
CREATE, READ, DOWNLOAD = "createRequest", "getRequest", "getAnswer"
_REF = "#/components/schemas/"
_NULL_ONLY = {"nullable": True, "enum": [None]}

# After a request is made, its reference reads it. (Its answer comes later, when the
# request's `response_pdf` is set: no link, since the answer does not exist yet.)
LINKS = {
    "GetRequest": {
        "operationId": READ,
        "parameters": {"reference": "$response.body#/reference"},
        "description": "The request just made: its status, due date and tasks.",
    },
}


def complete(spec: APISpec) -> None:
    if SECURITY_SCHEME not in spec.components.security_schemes:
        spec.components.security_scheme(
            SECURITY_SCHEME,
            {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key an admin made, sent as `Authorization: Bearer <key>`; "
                "its scopes say what it may do.",
            },
        )
    found = spec.components.schemas
    if "properties" in found["RequestIn"]:  # apispec's flat reading, not yet completed
        found.update(request_body(found["RequestIn"]["properties"]))
    for schema in found.values():
        _nullable_refs(schema)
    for path, item in spec._paths.items():  # apispec keeps the paths there
        if "{reference}" in path:
            for parameter in item.get("parameters", []):
                if parameter.get("name") == "reference":
                    parameter["schema"] = {"type": "string", "pattern": patterns.REFERENCE}
                    parameter["description"] = "The request's reference, DSAR-<year>-<number>"


def _nullable_refs(schema: Any) -> None:
    """apispec writes a nullable nested object as anyOf [$ref, {type: object, nullable}],
    which lets any object through; OpenAPI 3.0 says it as {nullable, allOf: [$ref]}."""
    if isinstance(schema, list):
        for item in schema:
            _nullable_refs(item)
        return
    if not isinstance(schema, dict):
        return
    for key, value in list(schema.items()):
        options = value.get("anyOf") if isinstance(value, dict) else None
        if (
            isinstance(options, list)
            and len(options) == 2
            and "$ref" in options[0]
            and options[1] == {"type": "object", "nullable": True}
        ):
            rest = {k: v for k, v in value.items() if k not in ("anyOf", "default")}
            schema[key] = {**rest, "nullable": True, "allOf": [options[0]]}
        else:
            _nullable_refs(value)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _name(kind: RequestKind) -> str:
    return "".join(part.capitalize() for part in kind.value.split("_"))


def granting(kind: RequestKind) -> list[str]:
    """The laws (regime keys) that grant this right, in the order of dsar.rules.REGIMES."""
    return [key for key, rules in REGIMES.items() if kind in rules.kinds]


def request_body(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """RequestIn as one object per right (and per agent's proof): `flat` is apispec's
    reading of dsar.api.schemas.RequestIn, whose fields and descriptions each one shares."""
    variants: dict[str, dict[str, Any]] = {}
    for kind in RequestKind:
        laws = granting(kind)
        if kind not in OFFERED_KINDS or not laws:
            continue
        base = _name(kind) + "Request"
        variants[base] = _variant(flat, kind, laws, agent=None)
        by_proof: dict[bool, list[str]] = {}
        for key in laws:
            rule = agent_rules.rule(key)
            if rule is not None and rule.allows(kind):
                by_proof.setdefault(rule.needs_permission(kind), []).append(key)
        for proof, keys in by_proof.items():
            name = f"{base}ByAgent" + ("" if len(by_proof) == 1 else "WithPermission" * proof)
            variants[name] = _variant(flat, kind, keys, agent=proof)
    return {
        "RequestIn": {
            "type": "object",
            "description": "A request: one of these shapes, by the right asked for (`kind`), "
            "the law (`regime`) and whether an authorised agent files it. Text fields are "
            "trimmed of white space; a maximum length counts what was sent.",
            "required": ["kind", "regime", "name", "email"],
            "oneOf": [_ref(name) for name in variants],
        },
        **variants,
        "CorrectionIn": correction(),
        "AgentIn": agent(permission=False),
        "AgentInWithPermission": agent(permission=True),
        "PermissionIn": permission(),
    }


def _variant(
    flat: dict[str, Any], kind: RequestKind, laws: list[str], *, agent: bool | None
) -> dict[str, Any]:
    props = copy.deepcopy(flat)
    props["kind"] = {
        "type": "string",
        "enum": [kind.value],
        "description": KIND_LABELS[kind],
    }
    names = ", ".join(f"{key} ({REGIMES[key].name})" for key in laws)
    props["regime"] = {
        "type": "string",
        "enum": laws,
        "description": f"the law, one that grants this right: {names}",
    }
    required = ["kind", "regime", "name", "email"]
    if kind is RequestKind.CORRECTION:
        props["correction"] = {"allOf": [_ref("CorrectionIn")], "description": "what to correct"}
        required.append("correction")
    else:
        props["correction"] = {**_NULL_ONLY, "description": "for kind correction only"}
    transfer = props["transfer_url"]
    if kind is not RequestKind.PORTABILITY:
        props["transfer_url"] = {
            "type": "string",
            "maxLength": transfer["maxLength"],
            "pattern": patterns.BLANK_PATTERN,
            "default": "",
            "description": "for kind portability only: blank here",
        }
    if agent is None:
        props["agent"] = {**_NULL_ONLY, "description": "none: the person files it"}
    else:
        target = "AgentInWithPermission" if agent else "AgentIn"
        props["agent"] = {"allOf": [_ref(target)], "description": flat["agent"]["description"]}
        required.append("agent")
    return {
        "type": "object",
        "description": f"{KIND_LABELS[kind]} ({kind.value})"
        + ("" if agent is None else ", filed by an authorised agent"),
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def correction() -> dict[str, Any]:
    """What a correction holds (dsar.services.correcting.parse): at least one field that is
    wrong with what it should be, or a description of what else is wrong."""
    one_line = patterns.text_pattern()
    limit = correcting.MAX_VALUE

    def value(key: str, *, held: bool) -> dict[str, Any]:
        kind = next(f.kind for f in correction_rules.ASKED if f.key == key)
        prop: dict[str, Any] = {"type": "string", "maxLength": limit, "pattern": one_line}
        if kind == "email":
            prop["pattern"] = patterns.EMAIL_OR_BLANK_PATTERN
            prop["description"] = (
                "an email address (ASCII) a mail server takes (no special-use domain such as "
                ".test); blank: none"
            )
        elif kind == "phone":
            prop["pattern"] = patterns.PHONE_PATTERN
            prop["maxLength"] = LIMITS["phone"]
            prop["description"] = (
                "a phone number that can exist (in the international format, or one of "
                "this service's country without +); blank: none"
            )
        if held:
            prop["description"] = "as we may hold it now: " + prop["description"]
            prop["description"] += "; it must differ from the corrected value"
        return prop

    changes = {f.key: value(f.key, held=False) for f in correction_rules.ASKED}
    for key, prop in changes.items():
        prop.setdefault("description", f"the {key.replace('_', ' ')} it should be (blank: none)")
    held = {key: value(key, held=True) for key in correction_rules.LOCATING}
    nonblank = patterns.text_pattern(required=True)
    return {
        "type": "object",
        "description": "Each field that is wrong, with what it should be, or what else is "
        "wrong: at least one of them, not blank.",
        "properties": {
            "changes": {
                "type": "object",
                "properties": changes,
                "additionalProperties": False,
                "description": "field -> the value it should have",
            },
            "held": {
                "type": "object",
                "properties": held,
                "additionalProperties": False,
                "description": "the email or phone as we may hold it now, to find the records",
            },
            "other": {
                "type": "string",
                "maxLength": correction_rules.MAX_OTHER,
                "pattern": patterns.text_pattern(multiline=True),
                "description": "anything else that is wrong, and what it should be",
            },
        },
        "additionalProperties": False,
        "anyOf": [
            {
                "required": ["changes"],
                "properties": {
                    "changes": {"required": [key], "properties": {key: {"pattern": nonblank}}}
                },
            }
            for key in changes
        ]
        + [
            {
                "required": ["other"],
                "properties": {
                    "other": {"pattern": patterns.text_pattern(multiline=True, required=True)}
                },
            }
        ],
    }


def agent(*, permission: bool) -> dict[str, Any]:
    """The agent's object; where the law asks for the person's signed permission, required."""
    nonblank = patterns.text_pattern(required=True)
    props: dict[str, Any] = {
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": nonblank},
        "email": {
            "type": "string",
            "maxLength": 254,
            "pattern": patterns.EMAIL_PATTERN,
            "description": "the agent's address (ASCII): one a mail server takes (no "
            "special-use domain such as .test, .invalid or .localhost), not the person's, and "
            "not that of an agent whose authority was withdrawn",
        },
        "organisation": {
            "type": "string",
            "maxLength": 200,
            "pattern": patterns.text_pattern(),
            "default": "",
        },
        "permission": {
            "allOf": [_ref("PermissionIn")],
            "description": "the person's signed permission (a PDF, PNG or JPEG)",
        },
    }
    required = ["name", "email"]
    if permission:
        required.append("permission")
    else:
        props["permission"] = {**props["permission"], "nullable": True}
        props["permission"]["description"] += "; not asked for this right"
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def permission() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "filename": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "pattern": patterns.text_pattern(required=True),
                "description": "the file's name, e.g. permission.pdf",
            },
            "content_base64": {
                "type": "string",
                "minLength": 1,
                "maxLength": 900_000,
                "pattern": patterns.PERMISSION_PATTERN,
                "description": "the file, base64-encoded (RFC 4648, no line breaks): a PDF, "
                "PNG or JPEG, as its first bytes say; the whole body may not exceed 1 MB",
            },
        },
        "required": ["filename", "content_base64"],
        "additionalProperties": False,
    }
