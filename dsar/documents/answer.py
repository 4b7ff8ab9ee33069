"""The access answer: a letter per regime, a section per system, the data attached."""

from __future__ import annotations

from dsar.documents import RenderedFile, as_file, render_response
from dsar.models import Request


def render_access(req: Request) -> list[RenderedFile]:
    return [as_file("response", render_response(req))]
