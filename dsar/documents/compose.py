"""Pick the documents a finished request gets, by the action its kind asks of the systems."""

from __future__ import annotations

from dsar import rules
from dsar.documents import answer, certificates, correction, portability
from dsar.documents.render import RenderedFile
from dsar.models import Request, RequestKind, TaskAction


def render_answer(req: Request) -> list[RenderedFile]:
    """Every file the request's answer is made of; the first is the PDF the person reads."""
    action = rules.ACTIONS[req.kind]
    if req.is_lift:
        return [certificates.render_lift_confirmation(req)]
    if req.kind is RequestKind.PORTABILITY:
        return portability.render_portability(req)
    if action is TaskAction.LOCATE:
        return answer.render_access(req)
    if action is TaskAction.ERASE:
        return [certificates.render_deletion_certificate(req)]
    if action is TaskAction.CORRECT:
        return [correction.render_correction_certificate(req)]
    return [certificates.render_confirmation(req)]
