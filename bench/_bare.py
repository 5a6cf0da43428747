"""A trivial Starlette endpoint on uvicorn: the yardstick CreateSession is compared with.

Run as ``python -m bench._bare PORT``. One worker with the server's own uvicorn choices
(httptools, uvloop when installed, no access log); ``POST /`` answers a small JSON body.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def _answer(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/", _answer, methods=["GET", "POST"])])


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )
