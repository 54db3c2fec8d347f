"""Errors the API turns into JSON: a status and a message that says what to do.

`HeadwaterError`s from the store map to statuses in `app.py`; these are the server's own.
"""

from __future__ import annotations

from headwater.errors import HeadwaterError


class BadRequestError(HeadwaterError, ValueError):
    """A query parameter or body the API cannot use (HTTP 422)."""


class ForbiddenError(HeadwaterError):
    """A state-changing request from another origin (HTTP 403)."""
