"""Pick the documents a finished request gets, by the action its kind asks of the systems.

Every letter speaks the request's language (`Request.language`, chosen on the portal), who
ever completes the request: the templates and the texts they show are translated under it.
"""

from __future__ import annotations

from flask_babel import force_locale

from dsar import i18n, rules
from dsar.documents import answer, certificates, correction, portability
from dsar.documents.render import RenderedFile
from dsar.models import Request, RequestKind, TaskAction


def render_answer(req: Request, *, language: str | None = None) -> list[RenderedFile]:
    """Every file the request's answer is made of; the first is the PDF the person reads.
    `language` (a staff preview) overrides the request's."""
    with force_locale(i18n.chosen(language or req.language) or i18n.DEFAULT):
        return _render(req)


def _render(req: Request) -> list[RenderedFile]:
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
