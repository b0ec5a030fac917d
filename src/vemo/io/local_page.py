"""What every page vemo serves needs to be safe on a user's machine: the labelling page and the
live page are protected the same way, by `guard_local_app`.

Against other web pages the user visits (DNS rebinding, cross-site requests): only the host
names the app was started for are answered (`Host`), a request that changes something must come
from the page's own origin (`Origin`), and every request needs the session's secret, as Jupyter
does: the printed link carries it once (`/?token=...`), the page then keeps it in a
`SameSite=Strict`, HttpOnly cookie. Request bodies are size-limited, and a malformed request is
answered without echoing its input back.
"""

from __future__ import annotations

import errno
import secrets
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from vemo.checks import require_number
from vemo.errors import ConfigError

MAX_BODY_BYTES = 2 * 1024 * 1024  # a bulk label of 20,000 crops fits; anything bigger is refused
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
TOKEN_COOKIE = "vemo_token"
WILDCARD_BINDS = ("0.0.0.0", "::", "")


def guard_local_app(app: FastAPI, host: str, token: str | None, command: str) -> str:
    """Protect `app` (bound to `host`) with the session secret `token` (a new random one when
    None), which it returns and keeps in `app.state.token`. `command` names what prints the link,
    for the answer to a request without the secret. Call it before adding routes."""
    app.state.token = token = token or secrets.token_urlsafe(24)
    _add_body_limit(app)
    _add_session_checks(app, token, command)
    _add_validation_answers(app)
    _add_write_failures(app)
    # added last, so it runs first: a forged Host (DNS rebinding) is refused before anything else
    hosts = ["*"] if host in WILDCARD_BINDS else sorted({*LOOPBACK_HOSTS, host})
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    return token


def serve_own_files(app: FastAPI, folder: Path, files: dict[str, str]) -> None:
    """`/` is folder/index.html and `/static/NAME` the files named in `files` (name -> media type):
    a fixed list, so nothing else is ever served from there."""

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(folder / "index.html", media_type="text/html")

    @app.get("/static/{name}")
    def static(name: str) -> FileResponse:
        if name not in files:
            raise HTTPException(404)
        return FileResponse(folder / name, media_type=files[name])


def bind_page_socket(host: str, port: int) -> socket.socket:
    """A listening socket for a page, bound before its link is printed: a port outside 0-65535,
    a taken port or an address this machine does not have is one clear error, not the server's
    traceback from its thread. Port 0 takes any free port (read it from the socket).

    Raises:
        ConfigError: naming `port` (or `host`).
    """
    require_number(port, "port", 0, 65535)
    host = host.strip("[]")  # "[::1]" as a link writes it
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise ConfigError(f"cannot serve on host {host!r}: {getattr(error, 'strerror', None) or error}", "host") from None
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is already in use: choose another (0: any free one)", "port") from None
        raise ConfigError(f"cannot serve on {host}:{port}: {error.strerror or error}", "host", "port") from None
    return listener


def page_link(host: str, port: int, token: str) -> str:
    """The link to open: it hands the session secret to the browser once."""
    shown = "127.0.0.1" if host in WILDCARD_BINDS else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}/?token={token}"


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the page on this machine."""
    return host in LOOPBACK_HOSTS


def _add_body_limit(app: FastAPI) -> None:
    @app.middleware("http")
    async def limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse({"detail": f"request body over {MAX_BODY_BYTES} bytes"}, status_code=413)
        if request.method == "POST" and length is None:
            return JSONResponse({"detail": "Content-Length required"}, status_code=411)
        return await call_next(request)


def _add_validation_answers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        """422 with what is wrong, without echoing the input back (an echoed 1e400 is infinity,
        which is not JSON: the answer was a 500)."""
        problems = [f"{'.'.join(str(p) for p in item.get('loc', ()))}: {item.get('msg', 'invalid')}" for item in error.errors()]
        return JSONResponse({"detail": problems}, status_code=422)


def _add_write_failures(app: FastAPI) -> None:
    """A write that fails (read-only or full disk) answers 507 with one line the page shows,
    instead of a 500 and a traceback on the terminal."""

    @app.exception_handler(OSError)
    async def cannot_write(request: Request, error: OSError) -> JSONResponse:
        where = f"{error.filename}: " if error.filename else ""
        return JSONResponse({"detail": f"cannot write {where}{error.strerror or error}"}, status_code=507)


def _add_session_checks(app: FastAPI, token: str, command: str) -> None:
    @app.middleware("http")
    async def check_session(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.query_params.get("token")
        if request.url.path == "/" and given is not None and secrets.compare_digest(given, token):
            response = RedirectResponse("/", status_code=303)  # the secret leaves the address bar
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return response
        presented = request.cookies.get(TOKEN_COOKIE) or request.headers.get("x-vemo-token") or ""
        if not secrets.compare_digest(presented, token):
            return JSONResponse(
                {"detail": f"this page needs the link that `{command}` printed (it carries the session's secret)"}, status_code=403
            )
        origin = request.headers.get("origin")
        if request.method not in ("GET", "HEAD") and origin is not None and origin != f"http://{request.headers.get('host')}":
            return JSONResponse({"detail": f"cross-origin request from {origin} refused"}, status_code=403)
        return await call_next(request)
