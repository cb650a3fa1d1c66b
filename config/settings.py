"""The settings sections: frozen dataclasses, one per TOML table.

Each field's default is the documented default (``config/onec-sync.example.toml`` shows every key;
a test keeps the two in step). A section may define ``problems()`` to report values that parse but
make no sense together. Relative paths are relative to the working directory (systemd: WorkingDirectory=).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from config.secret import Secret

SQLITE_DEFAULT_URL = "sqlite:///var/onec-sync.db"
_DB_SCHEMES = ("postgresql", "postgresql+psycopg", "sqlite", "sqlite+pysqlite")
_REDIS_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseSettings:
    url: str = SQLITE_DEFAULT_URL  # SQLAlchemy URL; PostgreSQL in production
    pool_size: int = 10
    max_overflow: int = 5
    pool_timeout_seconds: float = 10.0
    connect_timeout_seconds: int = 5
    echo: bool = False

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def problems(self) -> list[str]:
        scheme, sep, rest = self.url.partition("://")
        if not sep or scheme not in _DB_SCHEMES:
            return [
                f"database.url: {scheme + sep + '...' if sep else 'value'} is not a supported "
                f"database URL (use postgresql+psycopg://user@host/db or sqlite:///path)"
            ]
        if scheme.startswith("postgresql") and not rest.split("/", 1)[0]:
            return [
                "database.url: a PostgreSQL URL needs a host, e.g. postgresql+psycopg://127.0.0.1/db"
            ]
        found = []
        if self.pool_size < 1:
            found.append("database.pool_size: must be at least 1")
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisSettings:
    url: str = ""  # empty: no Redis (no response cache, in-memory rate limits)
    socket_timeout_seconds: float = 0.5

    def problems(self) -> list[str]:
        if not self.url:
            return []
        try:
            scheme = urlsplit(self.url).scheme
        except ValueError:
            scheme = ""
        if scheme not in _REDIS_SCHEMES:
            return ["redis.url: is not a redis://, rediss:// or unix:// URL"]
        return []


@dataclass(frozen=True, slots=True, kw_only=True)
class PathSettings:
    data_dir: Path = Path("var")  # uploads, quarantine, media; must be writable by the daemon

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def exchange_dir(self) -> Path:
        return self.data_dir / "exchange"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportSettings:
    batch_size: int = 2000  # records per transaction; each batch commits with its checkpoint
    full_package_policy: Literal["hide", "keep"] = (
        "hide"  # what a full package does to the unmentioned
    )
    site_owned_fields: tuple[
        str, ...
    ] = ()  # e.g. ["description", "images"]: 1C never overwrites them
    timezone: str = "Europe/Moscow"  # 1C writes local time without a zone

    def problems(self) -> list[str]:
        found = []
        if not 1 <= self.batch_size <= 100_000:
            found.append("import.batch_size: must be between 1 and 100000")
        unknown = set(self.site_owned_fields) - SITE_OWNABLE_FIELDS
        if unknown:
            found.append(
                f"import.site_owned_fields: unknown field(s) {sorted(unknown)}; "
                f"choose from {sorted(SITE_OWNABLE_FIELDS)}"
            )
        found.extend(_timezone_problems("import.timezone", self.timezone))
        return found


SITE_OWNABLE_FIELDS = frozenset(
    {"name", "description", "images", "sku", "barcode", "group", "properties", "requisites"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeSettings:
    """The 1C site-exchange endpoint (``?type=catalog|sale&mode=...``)."""

    enabled: bool = True
    path: str = "/1c_exchange"
    username: str = ""
    password_hash: str = ""  # argon2 hash: `onec-sync exchange hash-password`
    password: Secret = field(default_factory=lambda: Secret(""))  # alternative to password_hash
    file_limit: int = 8 * 1024 * 1024  # bytes per mode=file request we tell 1C to send
    max_upload_bytes: int = 4 * 1024**3  # total per uploaded file (after all chunks)
    zip_max_ratio: int = 200  # refuse archives whose members expand more than this
    zip_max_bytes: int = 8 * 1024**3  # refuse archives that expand to more than this in total
    zip_max_members: int = 200_000
    reply_encoding: Literal["windows-1251", "utf-8"] = "windows-1251"
    query_encoding: Literal["windows-1251", "utf-8"] = "utf-8"
    schema_version: str = "2.05"  # ВерсияСхемы we write when 1C did not name one
    session_ttl_seconds: int = 3600
    import_wait_seconds: float = 1.5  # how long one mode=import request waits before "progress"
    login_rate_limit: str = "10/minute"  # failed logins per client address
    status_map: dict[str, str] = field(default_factory=dict)  # 1C status name -> shop status

    def problems(self) -> list[str]:
        found = []
        if not self.path.startswith("/"):
            found.append("exchange.path: must start with /")
        if self.enabled and self.username and not (self.password_hash or self.password):
            found.append(
                "exchange: a username is set but neither password_hash nor "
                "ONEC_SYNC_EXCHANGE_PASSWORD is"
            )
        if self.file_limit < 1024:
            found.append("exchange.file_limit: must be at least 1024 bytes")
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class ODataSettings:
    """1C's standard OData interface (``.../odata/standard.odata/``)."""

    url: str = ""  # e.g. https://1c.example.ru/ut11/odata/standard.odata/ ; empty: OData off
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))
    timeout_seconds: float = 60.0
    page_size: int = 500
    max_attempts: int = 6  # per request, for errors worth retrying
    backoff_max_seconds: float = 60.0
    verify_tls: bool = True

    def problems(self) -> list[str]:
        found = []
        if self.url and urlsplit(self.url).scheme not in ("http", "https"):
            found.append("odata.url: must be an http:// or https:// URL")
        if not 1 <= self.page_size <= 10_000:
            found.append("odata.page_size: must be between 1 and 10000")
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderSettings:
    """Folder exchange: 1C drops packages into ``inbox``."""

    inbox: Path | None = None  # empty: folder exchange off
    settle_seconds: float = 10.0  # a package is complete when nothing in it changed for this long
    marker_names: tuple[str, ...] = ("complete", "import.done", ".done")


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonSettings:
    http_listen: str = "127.0.0.1:8081"  # the exchange endpoint, /health, /ready, /metrics
    http_threads: int = 8
    stop_timeout_seconds: float = 60.0  # keep below systemd's TimeoutStopSec
    schedules: dict[str, str] = field(
        default_factory=dict
    )  # job -> "every 60s" | "cron: */5 * * * *"


@dataclass(frozen=True, slots=True, kw_only=True)
class StorefrontSettings:
    listen: str = "127.0.0.1:8000"
    jwt_secret: Secret = field(default_factory=lambda: Secret(""))  # required in production
    access_token_minutes: int = 15
    refresh_token_days: int = 7
    cors_origins: tuple[str, ...] = ()
    rate_limit: str = "600/minute"  # per API key / per client address
    cache_ttl_seconds: int = 60
    max_request_bytes: int = 1024 * 1024
    default_price_type: str = ""  # price type Ид (or name) shown as "the" price
    login_rate_limit: str = "10/minute"  # login attempts per client address
    workers: int = 4  # gunicorn worker processes (`onec-sync serve`)
    threads: int = 4  # threads per worker (gunicorn gthread); 1 = one request at a time
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-For is trusted

    def problems(self) -> list[str]:
        found = []
        if self.workers < 1:
            found.append("storefront.workers: must be at least 1")
        if self.threads < 1:
            found.append("storefront.threads: must be at least 1")
        if self.proxy_hops < 0:
            found.append("storefront.proxy_hops: must not be negative")
        for origin in self.cors_origins:
            if origin != "*" and urlsplit(origin).scheme not in ("http", "https"):
                found.append(f"storefront.cors_origins: {origin!r} is not an http(s) origin")
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggingSettings:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "text"] = "auto"  # auto: JSON unless stderr is a terminal


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    paths: PathSettings = field(default_factory=PathSettings)
    import_: ImportSettings = field(default_factory=ImportSettings)  # TOML table [import]
    exchange: ExchangeSettings = field(default_factory=ExchangeSettings)
    odata: ODataSettings = field(default_factory=ODataSettings)
    folder: FolderSettings = field(default_factory=FolderSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    storefront: StorefrontSettings = field(default_factory=StorefrontSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    source: Path | None = None  # the file these came from, if any


def _timezone_problems(key: str, name: str) -> list[str]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"{key}: unknown time zone {name!r}"]
    return []
