"""The ground every other wing stands on: the database and what is written beside it.

Owns the engine and session factories (``engine``), the schema (``models``) and its Alembic
migrations (``migrate``, ``migrations/``), one transaction (``unit_of_work``), named locks across
processes (``locks``), the hash-chained audit log (``audit``), read-only views of runs and audit
(``history``), and the catalog/credentials-changed events the storefront listens to (``events``).

May import: ``config`` and ``exchange_formats``; nothing else of ``syncd``.
"""
