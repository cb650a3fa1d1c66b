"""Roles, the permissions they grant, and the authenticated caller (``Principal``).

==========  ============  ===========  ============  =====
role        catalog:read  orders:read  orders:write  admin
==========  ============  ===========  ============  =====
shop        yes           yes          yes           no
operator    yes           yes          no            no
admin       yes           yes          yes           yes
==========  ============  ===========  ============  =====

People (users) are operators or admins; machines (API keys) may have any role. An API key's
``scopes``, when not empty, narrow its role's permissions further.

Two permissions are never implied by a role, only granted by naming them in a ``shop`` or
``admin`` key's scopes: ``orders:price-override`` (lines may carry their own price, a discount or
another currency; each such line is marked in the order and in what goes to 1C) and
``customers:bind`` (the order's customer may name a 1C contractor by its Ид).

Who reads which orders: ``operator`` and ``admin`` read all; any other caller reads only the
orders it submitted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

CATALOG_READ = "catalog:read"
ORDERS_READ = "orders:read"
ORDERS_WRITE = "orders:write"
ADMIN = "admin"
ORDERS_PRICE_OVERRIDE = "orders:price-override"
CUSTOMERS_BIND = "customers:bind"
PERMISSIONS = (
    CATALOG_READ,
    ORDERS_READ,
    ORDERS_WRITE,
    ADMIN,
    ORDERS_PRICE_OVERRIDE,
    CUSTOMERS_BIND,
)
EXPLICIT_ONLY = frozenset({ORDERS_PRICE_OVERRIDE, CUSTOMERS_BIND})  # granted only when named

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "shop": frozenset({CATALOG_READ, ORDERS_READ, ORDERS_WRITE, *EXPLICIT_ONLY}),
    "operator": frozenset({CATALOG_READ, ORDERS_READ}),
    "admin": frozenset(PERMISSIONS),
}
KEY_ROLES = ("shop", "operator", "admin")
USER_ROLES = ("operator", "admin")
READS_ALL_ORDERS = frozenset({"operator", "admin"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The authenticated caller of this request."""

    kind: Literal["api_key", "user"]
    name: str  # API key name or username
    role: str
    permissions: frozenset[str]
    key_prefix: str | None = None
    price_type: str | None = None  # the key's price type for orders; None: the default

    @property
    def reads_all_orders(self) -> bool:
        return self.role in READS_ALL_ORDERS

    @property
    def identity(self) -> str:
        """A stable id for idempotency keys, audit and rate limits: ``key:<prefix>``/``user:<name>``."""
        return f"key:{self.key_prefix}" if self.key_prefix else f"user:{self.name}"

    def may(self, permission: str) -> bool:
        return permission in self.permissions


def permissions_for(role: str, scopes: Iterable[str] = ()) -> frozenset[str]:
    """The role's permissions, narrowed to ``scopes`` when any are given; the explicit-only
    permissions only when named in ``scopes``."""
    granted = ROLE_PERMISSIONS.get(role, frozenset())
    wanted = frozenset(scopes)
    return granted & wanted if wanted else granted - EXPLICIT_ONLY
