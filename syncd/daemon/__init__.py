"""The process: ``onec-sync run`` and everything it needs to run unattended.

Owns the process itself (``process``), the jobs the CLI runs too (``jobs``), the per-job guard
(``guard``), schedules and backoff (``scheduling``), leadership among several daemons
(``leadership``), the folder inbox (``inbox``), retention (``housekeeping``), the HTTP port
(``endpoint``, ``health``, ``metrics``), ``status``, logging (``logs``), systemd's notify protocol
(``sdnotify``, ``supervise``) and stop signals (``stopsignals``).

May import: every other wing of ``syncd``, ``config``, ``exchange_formats``.
"""
