"""Passwords out of URLs, before a URL reaches a message, a log line or a page.

Pure text work, so anything may use it (settings, the store, result storage) without loading a
database library, and it works on URLs that no library can parse: a misspelt scheme
(`postgresl://user:secret@host/db`) must not print its password either.
"""

from __future__ import annotations

import re

# scheme://user:password@host... : the password runs to the last '@', so one holding '@', ':'
# or even an unescaped '/' is hidden whole (at worst more than the password is hidden).
_CREDENTIALS = re.compile(r"^(?P<head>[^:/?#]*://[^:/?#@]*):(?P<secret>.*)@", re.DOTALL)
# ?password=... or &password=... in a query (libpq's keyword form), case-insensitively.
_QUERY_SECRET = re.compile(r"(?i)([?&](?:password|passwd|pwd|secret|token)=)[^&#]*")
MASK = "***"


def redact_url(url: str) -> str:
    """`url` with any password replaced by `***`.

    Example:
        >>> redact_url("postgresql+psycopg://ana:s3cret@db:5432/runs")
        'postgresql+psycopg://ana:***@db:5432/runs'
    """
    if "://" in url:
        masked = _CREDENTIALS.sub(lambda m: f"{m.group('head')}:{MASK}@", url, count=1)
    elif "@" in url and ":" in url.rpartition("@")[0]:
        # No '://' at all (a mangled URL): hide everything between the first ':' and the last '@'.
        before, _, after = url.rpartition("@")
        masked = f"{before.partition(':')[0]}:{MASK}@{after}"
    else:
        masked = url
    return _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, masked)
