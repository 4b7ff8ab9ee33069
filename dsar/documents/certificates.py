"""The deletion certificate and the opt-out confirmation."""

from __future__ import annotations

from dsar.documents import RenderedFile, as_file, render_response
from dsar.models import Request


def render_deletion_certificate(req: Request) -> RenderedFile:
    return as_file("response", render_response(req))


def render_opt_out_confirmation(req: Request) -> RenderedFile:
    return as_file("response", render_response(req))
