"""Settings: the only place that reads configuration files and the environment.

``load_settings()`` reads one TOML file (``--config PATH`` or ``$ONEC_SYNC_CONFIG``; none is fine:
every key has a default), applies environment overrides and returns frozen dataclasses. Every
problem found is collected and raised at once as one ``ConfigError``.

Environment overrides: every key ``[section] key`` can be set as ``ONEC_SYNC_<SECTION>_<KEY>``
(e.g. ``ONEC_SYNC_DATABASE_URL``, ``ONEC_SYNC_REDIS_URL``). Secret keys (``Secret`` fields) are
refused in the file and read only from ``ONEC_SYNC_<SECTION>_<KEY>``, from the file named by
``ONEC_SYNC_<SECTION>_<KEY>_FILE``, or from ``$CREDENTIALS_DIRECTORY/<section>_<key>`` (systemd
``LoadCredential=``).
"""

from __future__ import annotations

from config.errors import ConfigError
from config.loader import CONFIG_ENV, ENV_PREFIX, load_settings
from config.secret import Secret, mask_url
from config.settings import (
    AuditSettings,
    BackupSettings,
    ConsoleSettings,
    DaemonSettings,
    DatabaseSettings,
    ExchangeSettings,
    FolderSettings,
    HousekeepingSettings,
    ImportSettings,
    LoggingSettings,
    ODataSettings,
    PathSettings,
    ProxySettings,
    RedisSettings,
    Settings,
    StorefrontSettings,
)

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "AuditSettings",
    "BackupSettings",
    "ConfigError",
    "ConsoleSettings",
    "DaemonSettings",
    "DatabaseSettings",
    "ExchangeSettings",
    "FolderSettings",
    "HousekeepingSettings",
    "ImportSettings",
    "LoggingSettings",
    "ODataSettings",
    "PathSettings",
    "ProxySettings",
    "RedisSettings",
    "Secret",
    "Settings",
    "StorefrontSettings",
    "load_settings",
    "mask_url",
]
