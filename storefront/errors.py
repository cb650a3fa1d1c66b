"""The storefront's errors, and the one JSON shape every error response has.

::

    StorefrontError                 anything the storefront raises on purpose
    ├── ConfigurationError          the app cannot start with these settings
    ├── RedisUnavailable            Redis is down or its circuit is open; callers fall back
    └── ApiError                    becomes an HTTP response {"error": {...}}
        ├── BadRequest        400   malformed or invalid parameters / body
        ├── Unauthorized      401   no, unknown, expired, revoked or malformed credentials
        ├── Forbidden         403   valid credentials without the needed permission
        ├── NotFound          404
        ├── Conflict          409   e.g. an order number or Idempotency-Key already used
        └── Unprocessable     422   well-formed but impossible (unknown product in an order)

Every error response body is ``{"error": {"status", "code", "message", "details"}}``; ``details``
is a list of ``{"field", "message"}`` (possibly empty).
"""

from __future__ import annotations

from typing import Any, ClassVar


class StorefrontError(Exception):
    """Base of every error the storefront raises on purpose."""


class ConfigurationError(StorefrontError):
    """The app cannot run with these settings (e.g. no JWT secret in production)."""


class RedisUnavailable(StorefrontError):
    """Redis did not answer in time, or failed recently and is not being tried yet."""


class ApiError(StorefrontError):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.message, self.details)


class BadRequest(ApiError):
    status = 400
    code = "invalid_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="onec-sync"'})
        super().__init__(message, **kwargs)


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Gone(ApiError):
    status = 410
    code = "gone"


class Unprocessable(ApiError):
    status = 422
    code = "unprocessable"


def error_body(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, "details": details or []}}
