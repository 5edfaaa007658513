"""Who may open the dashboard: the bind address rule and the access token check.

Binding to a loopback address (the default 127.0.0.1) serves only this machine. Any
other address serves the network, so it needs a token; pages render only after the
token given by the browser matches, compared in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

TOKEN_ENV = "EMS_DASHBOARD_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
MIN_TOKEN_LENGTH = 16


class BindRefused(ValueError):
    """Binding there is not allowed as asked; the message says what to do."""


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def token_from(cli_token: str | None, environ: dict[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    token = cli_token if cli_token is not None else env.get(TOKEN_ENV)
    return token or None


def check_bind(host: str, token: str | None) -> None:
    """Raise ``BindRefused`` for a non-loopback ``host`` without a (long enough) token."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise BindRefused(
            f"the access token is too short ({len(token)} characters; use at least {MIN_TOKEN_LENGTH}, "
            'e.g. python -c "import secrets; print(secrets.token_urlsafe())")'
        )
    if is_loopback(host):
        return
    if token is None:
        raise BindRefused(
            f"refusing to serve the dashboard on {host}: a non-loopback address is reachable from "
            f"other machines and needs an access token. Pass --token TOKEN or set {TOKEN_ENV} "
            f"(at least {MIN_TOKEN_LENGTH} characters), or bind to {DEFAULT_HOST}."
        )


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison (the time taken does not tell how much of a guess was right)."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
