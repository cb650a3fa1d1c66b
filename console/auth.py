"""Logging people in: the API's ``users`` table, argon2id passwords, a signed session cookie.

The cookie holds the user's id and name and the login's random id; every request loads the user
again, so a user deactivated or demoted in the database loses access on their next click. Logging
out records the login's id as revoked (``revoked_tokens``, pruned by housekeeping once the cookie
would have expired anyway), so a copy of the cookie taken before the logout is refused too.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from syncd.exchange.throttle import LoginThrottle
from syncd.store import audit
from syncd.store.models import RevokedToken, User

log = logging.getLogger(__name__)
ROLES = ("operator", "admin")
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong username costs as long as a wrong
# password and response times do not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not a password anyone has")

F = TypeVar("F", bound=Callable[..., Any])
bp = Blueprint("auth", __name__)


@dataclass(frozen=True, slots=True)
class Person:
    """The person logged in for this request."""

    id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def authenticate(db: Session, username: str, password: str) -> Person | None:
    """The active operator or admin with this password, else None (in constant-ish time)."""
    user = db.scalars(
        select(User).where(User.username == username, User.is_active.is_(True))
    ).first()
    try:
        ok: bool = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or user.role not in ROLES:
        return None
    return Person(user.id, user.username, user.role)


def current_person(db: Session) -> Person | None:
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return None
    user = db.get(User, user_id)
    if user is None or not user.is_active or user.role not in ROLES:
        return None
    if user.username != session.get("username"):
        return None
    login_id = session.get("login_id")
    if not isinstance(login_id, str):
        return None
    if db.get(RevokedToken, _revocation_id(login_id)) is not None:
        return None
    return Person(user.id, user.username, user.role)


def _revocation_id(login_id: str) -> str:
    return f"console:{login_id}"[:64]


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("person") is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def admin_required(view: F) -> F:
    """Only admins: what changes data (re-send an order, run a job). Others get 403."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        person = g.get("person")
        if person is None:
            return redirect(url_for("auth.login", next=request.path))
        if not person.is_admin:
            abort(403, "this action needs the admin role")
        return view(*args, **kwargs)

    return cast(F, wrapped)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:255]
        password = request.form.get("password", "")[:1024]
        throttle: LoginThrottle = current_app.extensions["console.throttle"]
        # Counted before the password is checked (a burst cannot pass the limit); a correct
        # login empties both buckets.
        keys = (("address", request.remote_addr or ""), ("user", username.lower()))
        wait = max(throttle.attempt(bucket, who) or 0 for bucket, who in keys)
        if wait:
            message = f"Too many failed logins; try again in {wait} s."
            page = render_template("login.html", error=message)
            return page, 429, {"Retry-After": str(wait)}
        db: Session = g.db
        usable = username.isprintable() and "\x00" not in password
        person = authenticate(db, username, password) if username and password and usable else None
        if person is not None:
            # Only successful logins are audited: refused ones would let anyone fill the log.
            audit.append(
                db, action="console.login", outcome="succeeded", actor=person.name,
                source=f"console {request.remote_addr}",
            )  # fmt: skip
            db.commit()
            for bucket, who in keys:
                throttle.succeeded(bucket, who)
            session.clear()  # a new session id: nothing from before the login carries over
            session.permanent = True
            session["user_id"], session["username"] = person.id, person.name
            session["login_id"] = secrets.token_urlsafe(24)
            return redirect(_safe_next(request.args.get("next")))
        log.warning("console: refused login for %r from %s", username, request.remote_addr)
        error = "Wrong username or password."
    status = 401 if error else 200
    return render_template("login.html", error=error), status


@bp.post("/logout")
def logout() -> Response:
    login_id = session.get("login_id")
    if isinstance(login_id, str) and g.get("person") is not None:
        db: Session = g.db
        lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
        revocation = _revocation_id(login_id)
        if db.get(RevokedToken, revocation) is None:
            db.add(RevokedToken(jti=revocation, expires_at=datetime.now(UTC) + lifetime))
            db.commit()
    session.clear()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only paths of this site: an absolute or scheme-relative URL would be an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return str(url_for("pages.overview"))
