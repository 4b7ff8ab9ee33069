"""The data systems registry: list, add, edit, disable, test a connection."""

from __future__ import annotations
