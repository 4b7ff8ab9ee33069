"""A form refused before its view ran keeps what was typed.

The rate limit and an expired form (its CSRF token) refuse a post before the view sees it;
the person then gets the same form again, filled in as they sent it, with why it was
refused and what to do, and nothing stored. Each portal form that takes typing registers
how its page is drawn from the posted data (`refills`); the app's error handlers call
`refill`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, request

# The endpoint of a form's view -> its page drawn from what was posted (no validation).
_PAGES: dict[str, Callable[..., Any]] = {}


def refills(endpoint: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the function that draws `endpoint`'s form page from the posted data."""

    def register(page: Callable[..., Any]) -> Callable[..., Any]:
        _PAGES[endpoint] = page
        return page

    return register


def refill(notice: str) -> str | None:
    """The posted form's page, filled in as sent, with `notice` on top; None when the post
    was not to one of the portal's forms (the plain error page is shown then)."""
    page = _PAGES.get(request.endpoint or "")
    if request.method != "POST" or page is None:
        return None
    flash(notice, "error")
    result = page(**(request.view_args or {}))
    return result[0] if isinstance(result, tuple) else result
