"""The operator console: server-rendered pages for the people who run onec-sync.

It reads everything the daemon records (runs, the audit log, quarantine and failed packages,
exchange sessions, the order outbox) and offers the few actions that follow from it: retry a
failed package, re-send an order, run a job now. Each action is written to the audit log with
the person's name. People log in as the API's users (``onec-sync users create``); ``operator``
may look and retry, ``admin`` may also change data.

``create_app(settings)`` builds the Flask app; ``onec-sync console serve`` serves it.
"""

from console.app import create_app

__all__ = ["create_app"]
