"""The API the shop reads: catalog, search, prices, stock, order intake and status.

``create_app(settings)`` builds the Flask app; ``storefront.wsgi:app`` is what gunicorn serves.
"""

from __future__ import annotations

from storefront.app import close_app, create_app

__all__ = ["close_app", "create_app"]
