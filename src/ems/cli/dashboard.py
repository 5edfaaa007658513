"""``ems dashboard``: serve the project's health dashboard (Streamlit) and print its URL."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from ems.dashboard.security import DEFAULT_HOST, DEFAULT_PORT, TOKEN_ENV

    parser = subparsers.add_parser(
        "dashboard",
        help="open the project's health dashboard in a browser",
        description=(
            "Serve the dashboard (findings, fixes, history, hotspots, live updates) for the project at "
            f"PATH on http://{DEFAULT_HOST}:{DEFAULT_PORT}/. Another address than a loopback one needs an "
            f"access token (--token or {TOKEN_ENV})."
        ),
    )
    parser.add_argument("path", nargs="?", default=".", help="the project (default: the current folder)")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--token",
        help=f"access token the browser must give (?token=...); default: ${TOKEN_ENV}. Required off loopback",
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    parser.set_defaults(run=run)


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound now (None: it can), said before Streamlit starts."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"unknown address ({exc.strerror})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def run(args: argparse.Namespace) -> int:
    from ems.cli.common import fail
    from ems.dashboard.launch import serve, url
    from ems.dashboard.security import BindRefused, check_bind, token_from
    from ems.runtime.root import project_root

    target = Path(args.path)
    if not target.is_dir():
        return fail(f"dashboard: {target} is not a folder")
    if not 0 < args.port < 65536:
        return fail(f"dashboard: --port must be between 1 and 65535, got {args.port}")
    token = token_from(args.token)
    try:
        check_bind(args.host, token)
    except BindRefused as exc:
        return fail(f"dashboard: {exc}")
    busy = _port_in_use(args.host, args.port)
    if busy:
        return fail(f"dashboard: cannot serve on {args.host}:{args.port}: {busy}; choose another with --port")
    root = project_root(target.resolve())
    open_browser = not args.no_browser and _has_display()
    address = url(args.host, args.port)
    hint = "" if open_browser else " (open it in a browser)"
    if token is not None:
        hint += "; add ?token=YOUR_TOKEN to the address, or type it on the page"
    sys.stdout.write(f"ems dashboard for {root}\n  {address}{hint}\nPress Ctrl+C to stop.\n")
    sys.stdout.flush()
    try:
        serve(root, args.host, args.port, token=token, open_browser=open_browser)
    except OSError as exc:
        return fail(f"dashboard: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}")
    return 0
