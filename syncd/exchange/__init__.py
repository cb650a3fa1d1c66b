"""The 1C site-exchange endpoint (``?type=catalog|sale&mode=...``): a thin protocol adapter.

Sessions and credentials (``sessions``, ``auth``, ``throttle``), uploads (``uploads``,
``staging``), the import workers (``runner``, ``catalog``, ``sale_jobs``) over the importer
(``package``, ``pipeline_backend``), the sale exchange (``sale``, ``order_records``,
``order_updates``), the HTTP surface (``views``, ``app``, ``server``), the audit entries, and the
1C emulator (``emulator``) that plays 1C's side for operators and tests. See
``/work/shared/PROTOCOL.md`` §1.

May import: ``syncd.importer``, ``syncd.store``, ``config``, ``exchange_formats``; never
``syncd.odata`` or ``syncd.daemon``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncd.exchange.app import create_exchange_app, exchange_service
    from syncd.exchange.service import ExchangeService
    from syncd.exchange.views import make_exchange_blueprint

__all__ = ["ExchangeService", "create_exchange_app", "exchange_service", "make_exchange_blueprint"]
_HOMES = {
    "ExchangeService": "syncd.exchange.service",
    "create_exchange_app": "syncd.exchange.app",
    "exchange_service": "syncd.exchange.app",
    "make_exchange_blueprint": "syncd.exchange.views",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that importing one part (names, archive, the emulator) does not build Flask.
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(name)
