"""`review`: the review UI's sessions, cookies, proxies, login throttle and public URL."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from pipeline.config.base import StrictModel


class ReviewConfig(StrictModel):
    session_secret: str | None = Field(
        default=None,
        min_length=32,
        repr=False,
        description="Key for signing session cookies, at least 32 characters. Better left out "
        "of the config file: the environment variable TRAFFICCAM_SESSION_SECRET or "
        "session_secret_file take precedence; when none is set one is generated into the "
        "0600 file keys/review-session-secret next to evidence.path.",
    )
    session_secret_file: Path | None = Field(
        default=None,
        description="A file (mode 0600, owner only) holding the session-signing key, at least "
        "32 bytes; created with a generated key when missing.",
    )
    secure_cookies: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Mark the session cookie Secure (sent over HTTPS only) and send HSTS: "
        "'always', 'never' (plain-http tests only), or 'auto': always, except a plain-http "
        "request to localhost/127.0.0.1/::1 without proxy headers (a demo on this machine).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or CIDR blocks of reverse proxies whose X-Forwarded-For is "
        "believed for the client's address (login throttle, audit); empty: the socket's "
        "address, X-Forwarded-For ignored.",
    )
    api_docs: bool = Field(
        default=True,
        description="Serve the API's OpenAPI description at /openapi.json to logged-in users "
        "(any role); false: not at all. The /docs and /redoc pages are never served (they "
        "load scripts from a CDN, which the content security policy forbids).",
    )
    claim_timeout_s: float = Field(
        default=600,
        gt=0,
        description="How long an officer's claim on a queued violation holds without a decision.",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Login attempts for one user name from one client address within "
        "login_window_s before that pair is throttled; the account stays open from elsewhere.",
    )
    login_max_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Login attempts (any user names) from one client address within "
        "login_window_s before the address is throttled.",
    )
    login_window_s: float = Field(
        default=900, gt=0, description="Window in which failed logins are counted, in seconds."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL printed in notices' QR codes, e.g. https://review.example.vn; "
        "the request's own URL when unset.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, entries: list[str]) -> list[str]:
        import ipaddress

        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"review.trusted_proxies: {entry!r} is not an IP address or CIDR block"
                ) from None
        return entries
