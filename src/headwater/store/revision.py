"""The newest schema version, known without Alembic: the highest-numbered migration file.

Migrations live in `migrations/versions/` as `NNNN_what.py`, and each one's revision id is its
number (a test holds Alembic's own head to it). A writer compares a database's version with
this one on opening, with one query; only a database that is behind loads Alembic.
"""

from __future__ import annotations

import functools
import os
import re

VERSIONS = os.path.join(os.path.dirname(__file__), "migrations", "versions")
_NAME = re.compile(r"^(\d{4})_\w+\.py$")


@functools.cache
def head_revision() -> str:
    """The revision id of the newest migration (e.g. "0008")."""
    numbers = [match.group(1) for match in map(_NAME.match, os.listdir(VERSIONS)) if match]
    if not numbers:
        raise RuntimeError(f"No migrations found in {VERSIONS!r}: headwater is not installed "
                           f"completely. Reinstall it.")
    return max(numbers)
