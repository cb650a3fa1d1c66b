"""The API the shop reads: catalog, search, prices, stock, order intake and status.

``create_app(settings)`` builds the Flask app; ``storefront.wsgi:app`` is what gunicorn serves.
The app is imported on first use of ``create_app``/``close_app``, not with the package:
``onec-sync serve`` chooses prometheus-client's multiprocess mode before anything imports it
(see ``storefront.serve``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storefront.app import close_app, create_app

__all__ = ["close_app", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from storefront import app

        return getattr(app, name)
    raise AttributeError(f"module 'storefront' has no attribute {name!r}")
