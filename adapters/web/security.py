"""Who is asking and what they may do: roles from plugin.toml, API tokens, CSRF tokens, security headers."""

from __future__ import annotations

import hmac
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flask import Response, jsonify, request, session

from plugin.settings import MANIFEST

CSRF_SESSION_KEY = "contact_importer_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SignInThrottled(Exception):
    """Too many failed sign-ins or API tokens: answered 429 with Retry-After (seconds)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"throttled for {retry_after} s")
        self.retry_after = retry_after


def throttled_message(retry_after: int) -> str:
    minutes = max(1, -(-retry_after // 60))
    return f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def throttled_json(error: SignInThrottled) -> tuple[Response, int, dict[str, str]]:
    """429 with Retry-After, in JSON: what the API answers (and a mounted importer, whatever the path)."""
    body = jsonify(code="auth.throttled", message=throttled_message(error.retry_after), retry_after=error.retry_after)
    return body, 429, {"Retry-After": str(error.retry_after)}


@dataclass(frozen=True, slots=True)
class WebUser:
    """The signed-in person as the importer sees them: who, and which role."""

    id: str
    email: str
    name: str
    role: str  # admin, support_admin, agent


def as_web_user(found: object) -> WebUser | None:
    """Accept what a host's current_user returns (an object or a mapping); inactive people are nobody."""
    if found is None:
        return None
    if isinstance(found, WebUser):
        return found
    get = found.get if isinstance(found, Mapping) else lambda name, default=None: getattr(found, name, default)
    if get("is_active", True) is False:
        return None
    email = str(get("email", "") or "")
    name = get("name") or " ".join(part for part in (get("first_name"), get("last_name")) if part) or email
    return WebUser(id=str(get("id", "") or email), email=email, name=str(name), role=str(get("role", "") or ""))


def read_permissions(manifest: Path = MANIFEST) -> dict[str, frozenset[str]]:
    """plugin.toml's [permissions]: permission name → roles that have it."""
    with manifest.open("rb") as handle:
        table = tomllib.load(handle).get("permissions", {})
    return {name: frozenset(roles) for name, roles in table.items()}


@dataclass(frozen=True, slots=True)
class Permissions:
    """Which roles may import which kinds, and do what else plugin.toml's [permissions] lists; a permission not
    listed there is for admins only."""

    roles_by_permission: Mapping[str, frozenset[str]]

    def may_import(self, user: WebUser | None, kind_title: str) -> bool:
        return self.allows(user, f"import.{kind_title}")

    def allows(self, user: WebUser | None, permission: str) -> bool:
        """Whether the person's role has the permission (mailboxes.manage, tokens.manage, ...); unlisted: admins."""
        return user is not None and user.role in self.roles_by_permission.get(permission, frozenset({"admin"}))


# ---- CSRF: a random token per session, sent back in every form (or header) that changes something


def csrf_token() -> str:
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return str(token)


def is_csrf_valid() -> bool:
    expected = session.get(CSRF_SESSION_KEY)
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    return bool(expected) and bool(sent) and hmac.compare_digest(str(expected), str(sent))


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
