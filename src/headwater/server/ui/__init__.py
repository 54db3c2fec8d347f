"""The UI: static pages and their assets, served by the API's own process.

One HTML page (`static/index.html`) routes on the browser's path; `static/app.js` reads only the
public JSON API. The charting, timeline and graph libraries are vendored, built files in
`static/vendor/` (pinned by `ui/package-lock.json` in the repository; `ui/vendor.mjs` copies
them): nothing needs Node to install or run.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
# Paths the browser shows; each is the same page, which routes on `location.pathname`.
PAGES = ("/runs", "/runs/{run_id}", "/task-runs/{task_run_id}", "/assets", "/assets/view")


def mount(app: FastAPI) -> None:
    """Serve the UI's pages at PAGES and its assets under /static."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def page() -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    for path in PAGES:
        app.add_api_route(path, page, include_in_schema=False, response_class=FileResponse)

    def home() -> Response:
        return RedirectResponse("/runs")

    app.add_api_route("/", home, include_in_schema=False)
