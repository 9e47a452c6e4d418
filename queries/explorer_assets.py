"""Serving the lineage explorer: the UI's built files (``ui/dist``, built by ``make run`` and
``make test``) at ``/``. Every path that is not a file is the app's page, so that a deep link
(``/?kind=dataset&...``) or a reload opens the view it names. When the UI was not built, ``/``
says how to build it instead of failing.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

UI_DIR = Path(__file__).resolve().parent.parent / "ui" / "dist"

NOT_BUILT = """<!doctype html><html><head><meta charset="utf-8"><title>Lineage explorer</title></head>
<body style="font-family: sans-serif; margin: 3rem">
<h1>The lineage explorer is not built</h1>
<p>Build it with <code>make ui</code> (or start everything with <code>make run</code>, which builds it),
then reload this page. The query API is served under <a href="/api/v1/health">/api/v1</a>.</p>
</body></html>"""


def explorer_routes(ui_dir: Path) -> list[BaseRoute]:
    index = ui_dir / "index.html"

    async def page(request: Request) -> Response:
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    # Files the build names by their content's hash: served as they are (built later is fine).
    assets = StaticFiles(directory=ui_dir / "assets", check_dir=False)
    return [Mount("/assets", app=assets, name="assets"), Route("/{path:path}", page)]
