"""`headwater server start`: a JSON API and a web UI over the run store (extra `server`).

    from headwater.server import create_app
    from headwater.store import open_store
    app = create_app(open_store())

Layout: `app.py` (the FastAPI factory, errors, auth), `api/<noun>.py` (routes), `ui/` (pages
and vendored assets), `serve.py` (what `headwater server start` runs). `import headwater`
never imports this package (tests/test_import_boundaries.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.server.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from headwater.server.app import create_app

        return create_app
    raise AttributeError(name)
