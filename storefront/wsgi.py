"""For gunicorn and other WSGI servers: ``gunicorn 'storefront.wsgi:app'``.

Settings come from ``$ONEC_SYNC_CONFIG`` and the environment, as for the CLI.
"""

from __future__ import annotations

from storefront.app import create_app

app = create_app()
