"""The settings sections: frozen dataclasses, one per TOML table.

Each field's default is the documented default (``config/onec-sync.example.toml`` shows every key;
a test keeps the two in step). A section may define ``problems()`` to report values that parse but
make no sense together. Relative paths are relative to the working directory (systemd: WorkingDirectory=).
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from config.secret import Secret

SQLITE_DEFAULT_URL = "sqlite:///var/onec-sync.db"
_DB_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg", "sqlite", "sqlite+pysqlite")
_REDIS_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseSettings:
    url: str = SQLITE_DEFAULT_URL  # SQLAlchemy URL; PostgreSQL in production
    pool_size: int = 10
    max_overflow: int = 5
    pool_timeout_seconds: float = 10.0
    connect_timeout_seconds: int = 5
    echo: bool = False
    audit_key: Secret = field(default_factory=lambda: Secret(""))  # keys the audit chain (HMAC)
    # PostgreSQL streaming replicas the storefront sends catalog reads to (README "Read replicas")
    replica_urls: tuple[str, ...] = ()
    # Without Redis (no commit positions to compare), a replica further behind than this is skipped
    replica_max_lag_seconds: float = 5.0

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
        if scheme.startswith("postgres") and not rest.split("/", 1)[0]:
            return [
                "database.url: a PostgreSQL URL needs a host, e.g. postgresql+psycopg://127.0.0.1/db"
            ]
        found = []
        if self.pool_size < 1:
            found.append("database.pool_size: must be at least 1")
        if self.replica_urls and not scheme.startswith("postgresql"):
            found.append("database.replica_urls: replicas need a PostgreSQL database.url")
        for replica in self.replica_urls:
            if not replica.startswith(("postgresql://", "postgresql+psycopg://")):
                found.append(
                    f"database.replica_urls: {replica.partition('://')[0]}://... is not a "
                    "PostgreSQL URL (use postgresql+psycopg://user@host/db)"
                )
        if self.replica_max_lag_seconds <= 0:
            found.append("database.replica_max_lag_seconds: must be positive")
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
    skip_identical_files: bool = True  # a file imported before, with no writes since, is not read
    # PostgreSQL: import a package's catalog and offers files side by side when they write
    # different tables (syncd/importer/lanes.py); packages under parallel_min_bytes go one file at
    # a time.
    parallel_files: bool = True
    parallel_min_bytes: int = 4 * 1024 * 1024
    # A full package hiding more than this share of the active rows of a table (and more than
    # hide_guard_min_rows) has its hiding held until an operator confirms it.
    hide_guard_share: float = 0.2
    hide_guard_min_rows: int = 25

    def problems(self) -> list[str]:
        found = []
        if not 0 < self.hide_guard_share <= 1:
            found.append("import.hide_guard_share: must be above 0 and at most 1 (1: never hold)")
        if self.hide_guard_min_rows < 0:
            found.append("import.hide_guard_min_rows: must be 0 or more")
        if not 1 <= self.batch_size <= 100_000:
            found.append("import.batch_size: must be between 1 and 100000")
        if self.parallel_min_bytes < 0:
            found.append("import.parallel_min_bytes: must be 0 or more")
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
    # type=sale&mode=info: what 1C's status/payment/delivery matching tables list.
    payment_systems: dict[str, str] = field(default_factory=dict)  # Ид -> name
    delivery_services: dict[str, str] = field(default_factory=dict)  # Ид -> name
    # type=listen: how long one long-poll waits for a new order, and how many wait at once.
    listen_seconds: float = 50.0
    listen_max_waiting: int = 2

    # --- what an exchange session may do, and who may never be locked out
    session_max_seconds: int = 6 * 3600  # absolute lifetime of a session, however busy
    session_max_files: int = 2000  # files one session may upload
    session_max_bytes: int = 16 * 1024**3  # bytes one session may upload, all files together
    cookie_secure: bool = False  # mark the session cookie Secure (1C reaches us over https)
    login_allowlist: tuple[str, ...] = ()  # 1C's addresses/networks, never locked out

    def problems(self) -> list[str]:
        found = _exchange_limit_problems(self)
        if not 0 < self.listen_seconds <= 60:
            found.append(
                "exchange.listen_seconds: must be above 0 and at most 60 "
                "(proxies end requests at 60 s)"
            )
        if self.listen_max_waiting < 1:
            found.append("exchange.listen_max_waiting: must be at least 1")
        if not self.path.startswith("/"):
            found.append("exchange.path: must start with /")
        if self.enabled and self.username and not (self.password_hash or self.password):
            found.append(
                "exchange.password_hash: not set, so 1C cannot log in as "
                f"{self.username!r}; make one with `onec-sync exchange hash-password` "
                "(or set ONEC_SYNC_EXCHANGE_PASSWORD)"
            )
        if self.enabled and not self.username and (self.password_hash or self.password):
            found.append(
                "exchange.username: not set, so every 1C login is refused; set it to the "
                "login typed into 1C"
            )
        if self.file_limit < 1024:
            found.append("exchange.file_limit: must be at least 1024 bytes")
        if self.password_hash and not self.password_hash.startswith("$argon2"):
            found.append(
                "exchange.password_hash: not an argon2 hash; make one with "
                "`onec-sync exchange hash-password`"
            )
        if self.import_wait_seconds <= 0 or self.import_wait_seconds > 20:
            found.append(
                "exchange.import_wait_seconds: must be above 0 and at most 20 "
                "(1C and proxies give up on slow requests)"
            )
        return found


def _exchange_limit_problems(settings: ExchangeSettings) -> list[str]:
    import ipaddress

    found = []
    limits = (settings.session_max_seconds, settings.session_max_files, settings.session_max_bytes)
    if min(limits) < 1:
        found.append(
            "exchange.session_max_seconds, session_max_files, session_max_bytes: must be above 0"
        )
    for network in settings.login_allowlist:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            found.append(f"exchange.login_allowlist: {network!r} is no address or network")
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxySettings:
    """Reverse proxies in front of both HTTP apps (the API and the 1C exchange).

    ``hops``: how many proxies append to ``X-Forwarded-For`` (0: none, the socket's peer is the
    client). Only set it when every request reaches us through exactly that many proxies: a client
    talking to us directly could otherwise name any address it likes.
    """

    hops: int = 0

    def problems(self) -> list[str]:
        return ["proxy.hops: must be 0 (no proxy) to 5"] if not 0 <= self.hops <= 5 else []


# The streams `onec-sync sync odata` knows, in the order a full sync runs them (references first).
ODATA_STREAMS = (
    "warehouses",
    "price_types",
    "groups",
    "products",
    "characteristics",
    "customers",
    "prices",
    "stock",
    "changes",  # exchange-plan change tracking (odata.exchange_plan); not pulled by default
)

# Field maps for УТ 11: our role -> the 1C property that holds it ("" switches a role off).
# `[odata.<x>_fields]` tables override single roles; see config/onec-sync.example.toml.
ODATA_DEFAULT_FIELDS: dict[str, dict[str, str]] = {
    "groups": {"name": "Description", "parent": "Parent_Key"},
    "products": {
        "name": "Description",
        "code": "Code",
        "sku": "Артикул",
        "description": "Описание",
        "group": "Parent_Key",
        "unit": "",
        "characteristics_use": "ИспользованиеХарактеристик",  # НеИспользовать: sold as itself
        "kind": "ВидНоменклатуры_Key",  # whose characteristics a product may share
    },
    "characteristics": {"name": "Description", "owner": "Owner"},
    "price_types": {
        "name": "Description",
        "currency": "ВалютаЦены_Key",
        "tax_included": "ЦенаВключаетНДС",
    },
    "warehouses": {"name": "Description", "address": ""},
    "customers": {
        "name": "Description",
        "full_name": "НаименованиеПолное",
        "inn": "ИНН",
        "kpp": "КПП",
        "contacts": "КонтактнаяИнформация",
    },
    "prices": {
        "product": "Номенклатура_Key",
        "characteristic": "Характеристика_Key",
        "price_type": "ВидЦены_Key",
        "price": "Цена",
        "currency": "Валюта_Key",  # else the price type's currency
    },
    "stock": {
        "product": "Номенклатура_Key",
        "characteristic": "Характеристика_Key",
        "warehouse": "Склад_Key",
        "quantity": "ВНаличииBalance",
    },
    "order": {
        "number": "НомерПоДаннымКлиента",
        "date": "ДатаПоДаннымКлиента",
        "document_date": "Date",
        "comment": "Комментарий",
        "customer": "Контрагент_Key",
        "total": "СуммаДокумента",
        "lines": "Товары",
        # read back from 1C's document (applied like the sale exchange's requisites)
        "status": "Статус",  # its name goes through exchange.status_map
        "paid": "",  # boolean properties, where the base has them
        "shipped": "",
        "cancelled": "",
    },
    "order_lines": {
        "product": "Номенклатура_Key",
        "characteristic": "Характеристика_Key",
        "quantity": "Количество",
        "packages": "КоличествоУпаковок",
        "price": "Цена",
        "total": "Сумма",
    },
}
# Roles a base may not publish: with $metadata they are used where published and off where
# not (`odata check` says which); without it, only when set in the configuration.
ODATA_OPTIONAL_FIELDS: dict[str, frozenset[str]] = {
    "products": frozenset({"characteristics_use", "kind"}),
    "price_types": frozenset({"currency"}),
    "prices": frozenset({"currency"}),
}
_GUID_CHARS = frozenset("0123456789abcdefABCDEF-")


@dataclass(frozen=True, slots=True, kw_only=True)
class ODataSettings:
    """1C's standard OData interface (``.../odata/standard.odata/``).

    Entity names and field maps default to УТ 11; ``fields(stream)`` gives a stream's complete
    field map (the defaults with the ``*_fields`` overrides applied).
    """

    url: str = ""  # e.g. https://1c.example.ru/ut11/odata/standard.odata/ ; empty: OData off
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))
    timeout_seconds: float = 60.0
    snapshot_timeout_seconds: float = 600.0  # one price or stock snapshot (not pageable)
    page_size: int = 500
    max_attempts: int = 6  # per request, for errors worth retrying
    backoff_initial_seconds: float = 1.0  # first wait; doubles per attempt (plus jitter)
    backoff_max_seconds: float = 60.0
    verify_tls: bool = True
    timezone: str = "Europe/Moscow"  # 1C's server zone: its dates carry none
    check_metadata: bool = True  # read $metadata before a sync; refuse missing entities/fields
    metadata_max_age_hours: float = 24.0  # $metadata kept between pulls this long (0: every run)
    fetch_batch_size: int = 30  # changed objects fetched per request (Ref_Key eq ... or ...)
    streams: tuple[str, ...] = ODATA_STREAMS[:-1]  # what `sync odata` pulls without --stream
    products_entity: str = "Catalog_Номенклатура"  # groups (IsFolder) and products
    characteristics_entity: str = "Catalog_ХарактеристикиНоменклатуры"
    price_types_entity: str = "Catalog_ВидыЦен"
    prices_entity: str = "InformationRegister_ЦеныНоменклатуры_RecordType"  # read via SliceLast
    warehouses_entity: str = "Catalog_Склады"
    stock_entity: str = "AccumulationRegister_ТоварыНаСкладах"  # read via Balance
    customers_entity: str = "Catalog_Контрагенты"
    currencies_entity: str = "Catalog_Валюты"  # currency references -> ISO codes
    kinds_entity: str = "Catalog_ВидыНоменклатуры"  # product kinds (own shared characteristics)
    exchange_plan: str = ""  # e.g. ExchangePlan_ОбменССайтом: the `changes` stream reads it
    exchange_node: str = ""  # our node's Ref_Key in that plan
    price_types: tuple[str, ...] = ()  # price type Ref_Keys to pull prices of; empty: all
    stock_warehouses: tuple[str, ...] = ()  # warehouse Ref_Keys, one Balance call each; empty: all
    order_entity: str = "Document_ЗаказКлиента"
    post_orders: bool = True  # post (провести) each created document
    post_operational: bool = False  # PostingModeOperational=true
    order_states_days: int = 90  # 1C's order documents this recent are read back after a push
    group_fields: dict[str, str] = field(default_factory=dict)
    product_fields: dict[str, str] = field(default_factory=dict)
    characteristic_fields: dict[str, str] = field(default_factory=dict)
    price_type_fields: dict[str, str] = field(default_factory=dict)
    warehouse_fields: dict[str, str] = field(default_factory=dict)
    customer_fields: dict[str, str] = field(default_factory=dict)
    price_fields: dict[str, str] = field(default_factory=dict)
    stock_fields: dict[str, str] = field(default_factory=dict)
    order_fields: dict[str, str] = field(default_factory=dict)
    order_line_fields: dict[str, str] = field(default_factory=dict)
    order_constants: dict[str, str] = field(default_factory=dict)  # 1C property -> value
    order_line_constants: dict[str, str] = field(default_factory=dict)

    def fields(self, stream: str) -> dict[str, str]:
        """The complete field map of ``stream`` (a key of ``ODATA_DEFAULT_FIELDS``)."""
        return {**ODATA_DEFAULT_FIELDS[stream], **self._overrides()[stream]}

    def configured(self, stream: str) -> dict[str, str]:
        """The roles of ``stream`` set in the configuration (not defaults)."""
        return dict(self._overrides()[stream])

    def _overrides(self) -> dict[str, dict[str, str]]:
        return {
            "groups": self.group_fields,
            "products": self.product_fields,
            "characteristics": self.characteristic_fields,
            "price_types": self.price_type_fields,
            "warehouses": self.warehouse_fields,
            "customers": self.customer_fields,
            "prices": self.price_fields,
            "stock": self.stock_fields,
            "order": self.order_fields,
            "order_lines": self.order_line_fields,
        }

    def problems(self) -> list[str]:
        found = []
        if self.url and urlsplit(self.url).scheme not in ("http", "https"):
            found.append("odata.url: must be an http:// or https:// URL")
        if not 1 <= self.page_size <= 10_000:
            found.append("odata.page_size: must be between 1 and 10000")
        if not 1 <= self.fetch_batch_size <= 100:
            found.append("odata.fetch_batch_size: must be between 1 and 100")
        if self.max_attempts < 1:
            found.append("odata.max_attempts: must be at least 1")
        if "changes" in self.streams and not self.exchange_plan:
            found.append("odata.streams: 'changes' needs odata.exchange_plan and exchange_node")
        if bool(self.exchange_plan) != bool(self.exchange_node):
            found.append("odata.exchange_plan, odata.exchange_node: set both or neither")
        if self.exchange_plan and not self.exchange_plan.startswith("ExchangePlan_"):
            found.append("odata.exchange_plan: an entity set name, e.g. ExchangePlan_ОбменССайтом")
        if self.exchange_node and (
            len(self.exchange_node) != 36 or not set(self.exchange_node) <= _GUID_CHARS
        ):
            found.append("odata.exchange_node: not a Ref_Key (GUID)")
        if self.order_states_days < 0:
            found.append("odata.order_states_days: must be 0 (read none back) or more")
        if not 0 <= self.metadata_max_age_hours <= 24 * 365:
            found.append("odata.metadata_max_age_hours: must be between 0 and 8760")
        unknown = sorted(set(self.streams) - set(ODATA_STREAMS))
        if unknown:
            found.append(
                f"odata.streams: unknown stream(s) {unknown}; choose from {list(ODATA_STREAMS)}"
            )
        for key, refs in (
            ("price_types", self.price_types),
            ("stock_warehouses", self.stock_warehouses),
        ):
            bad = [ref for ref in refs if len(ref) != 36 or not set(ref) <= _GUID_CHARS]
            if bad:
                found.append(f"odata.{key}: not Ref_Keys (GUIDs): {bad}")
        for stream, overrides in self._overrides().items():
            table = _ODATA_FIELD_TABLES[stream]
            for role in sorted(set(overrides) - set(ODATA_DEFAULT_FIELDS[stream])):
                found.append(
                    f"odata.{table}.{role}: unknown role; "
                    f"choose from {sorted(ODATA_DEFAULT_FIELDS[stream])}"
                )
        if not self.fields("order").get("number"):
            found.append(
                "odata.order_fields.number: must name the document field that holds the site's "
                "order number (orders push finds the documents it created by it)"
            )
        found.extend(_timezone_problems("odata.timezone", self.timezone))
        return found


_ODATA_FIELD_TABLES = {
    "groups": "group_fields",
    "products": "product_fields",
    "characteristics": "characteristic_fields",
    "price_types": "price_type_fields",
    "warehouses": "warehouse_fields",
    "customers": "customer_fields",
    "prices": "price_fields",
    "stock": "stock_fields",
    "order": "order_fields",
    "order_lines": "order_line_fields",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderSettings:
    """Folder exchange: 1C drops packages into ``inbox``; imported ones go to ``done_dir``,
    refused ones to ``failed_dir`` (default: ``done/`` and ``failed/`` beside the inbox)."""

    inbox: Path | None = None  # empty: folder exchange off
    settle_seconds: float = 10.0  # a package is complete when nothing in it changed for this long
    marker_names: tuple[str, ...] = ("complete", "import.done", ".done")
    recheck_seconds: float = 1.0  # the second look at sizes and times before importing
    done_dir: Path | None = None  # empty: <inbox>/../done
    failed_dir: Path | None = None  # empty: <inbox>/../failed

    @property
    def done_path(self) -> Path | None:
        return self.done_dir or (self.inbox.parent / "done" if self.inbox else None)

    @property
    def failed_path(self) -> Path | None:
        return self.failed_dir or (self.inbox.parent / "failed" if self.inbox else None)

    def problems(self) -> list[str]:
        found = []
        if self.settle_seconds < 0 or self.recheck_seconds < 0:
            found.append("folder.settle_seconds, folder.recheck_seconds: must not be negative")
        if self.inbox is not None and self.inbox in (self.done_path, self.failed_path):
            found.append("folder.done_dir, folder.failed_dir: must not be the inbox itself")
        return found


# "every 30s" / "every 15m" / "every 2h" / "every 1d", or "cron: <5 crontab fields>" (UTC).
_EVERY = re.compile(r"^every\s+(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def schedule_interval(text: str) -> float | None:
    """Seconds of an ``every ...`` schedule; ``None`` for anything else (cron or invalid)."""
    match = _EVERY.match(text.strip())
    if match is None:
        return None
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def schedule_cron(text: str) -> str | None:
    """The crontab fields of a ``cron: ...`` schedule; ``None`` for anything else."""
    head, sep, rest = text.strip().partition(":")
    if not sep or head.strip() != "cron" or len(rest.split()) != 5:
        return None
    return " ".join(rest.split())


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonSettings:
    http_listen: str = "127.0.0.1:8081"  # the exchange endpoint, /health, /ready, /metrics
    http_threads: int = 8
    stop_timeout_seconds: float = 60.0  # keep below systemd's TimeoutStopSec
    backoff_max_seconds: float = 300.0  # longest a failing job waits before its next try
    schedules: dict[str, str] = field(
        default_factory=dict
    )  # job -> "every 60s" | "cron: */5 * * * *"
    # /metrics and the detailed /ready: on this address ("": not served apart), and on the
    # exchange's port only to `Authorization: Bearer <ops_token>` (empty: not at all there)
    ops_listen: str = "127.0.0.1:8082"
    ops_token: Secret = field(default_factory=lambda: Secret(""))

    def problems(self) -> list[str]:
        found = []
        if self.ops_listen == self.http_listen and not self.ops_listen.endswith(":0"):
            found.append(
                "daemon.ops_listen: must differ from daemon.http_listen (or be empty: not served "
                "apart); the exchange's port answers only the exchange and bare health checks"
            )
        if self.ops_token and len(self.ops_token.reveal()) < 16:
            found.append("daemon.ops_token: at least 16 characters")
        for job, text in sorted(self.schedules.items()):
            interval = schedule_interval(text)
            if interval is None and schedule_cron(text) is None:
                found.append(
                    f"daemon.schedules.{job}: {text!r} is neither 'every <n>s|m|h|d' "
                    "nor 'cron: <minute> <hour> <day> <month> <weekday>'"
                )
            elif interval is not None and interval <= 0:
                found.append(f"daemon.schedules.{job}: the interval must be above zero")
        if self.stop_timeout_seconds <= 0:
            found.append("daemon.stop_timeout_seconds: must be above zero")
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class HousekeepingSettings:
    """What the ``housekeeping`` job removes, by age in days (0: keep forever)."""

    exchange_staging_days: float = 14.0  # uploads of ended 1C exchange sessions (failed ones too)
    work_days: float = 1.0  # unpacking folders left behind by a killed import
    quarantine_days: float = 90.0  # rejected files and their reasons
    folder_done_days: float = 30.0  # imported packages in folder.done_dir
    folder_failed_days: float = 90.0  # refused packages in folder.failed_dir
    change_events_days: float = 30.0  # change feed events (none a webhook still waits for)

    def problems(self) -> list[str]:
        if any(getattr(self, f.name) < 0 for f in dataclasses.fields(self)):
            return ["housekeeping: ages must not be negative (0 keeps forever)"]
        return []


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
    workers: int = 0  # gunicorn worker processes (`onec-sync serve`); 0: CPU cores + 1
    threads: int = 1  # requests per worker at once: 1 = gunicorn's sync workers, more = gthread
    proxy_hops: int = 0  # moved to [proxy] hops (one setting for the API and the exchange)
    key_cache_seconds: float = 5.0  # a revoked API key is refused within this, Redis or not
    media_accel_prefix: str = ""  # nginx internal location of media_dir: X-Accel-Redirect
    # orders: what happens to a line asking for more than the warehouses below hold
    stock_policy: Literal["ignore", "warn", "reject"] = "ignore"
    stock_warehouses: tuple[str, ...] = ()  # warehouse Ид the shop sells from; empty: all
    max_json_depth: int = 32  # deeper request bodies get 400, before they are parsed

    def worker_count(self) -> int:
        """gunicorn's worker processes: ``workers``, or one per CPU core and one more."""
        return self.workers or (os.cpu_count() or 1) + 1

    def request_slots(self) -> int:
        """How many requests one host serves at once (``worker_count() * threads``)."""
        return self.worker_count() * self.threads

    def problems(self) -> list[str]:
        found = []
        if self.max_json_depth < 2:
            found.append("storefront.max_json_depth: must be at least 2")
        if self.proxy_hops:
            found.append(
                "storefront.proxy_hops: set [proxy] hops instead (one setting for the API and "
                "the exchange)"
            )
        if not 0 <= self.key_cache_seconds <= 60:
            found.append("storefront.key_cache_seconds: 0 (no cache) to 60")
        if self.workers < 0:
            found.append("storefront.workers: must be 0 (CPU cores + 1) or more")
        if self.threads < 1:
            found.append("storefront.threads: must be at least 1")
        if self.proxy_hops < 0:
            found.append("storefront.proxy_hops: must not be negative")
        for origin in self.cors_origins:
            if origin != "*" and urlsplit(origin).scheme not in ("http", "https"):
                found.append(f"storefront.cors_origins: {origin!r} is not an http(s) origin")
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSettings:
    anchor_file: Path | None = None  # the audit_anchor job appends the chain's head here


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupSettings:
    """``onec-sync backup`` and the daemon's ``backup`` job."""

    dir: Path = Path("var/backups")  # where backups and their manifests are written
    keep_count: int = 7  # newest backups always kept
    keep_days: float = 30.0  # older ones beyond keep_count are removed (0: keep by count only)

    def problems(self) -> list[str]:
        found = []
        if self.keep_count < 1:
            found.append("backup.keep_count: must be at least 1")
        if self.keep_days < 0:
            found.append("backup.keep_days: must not be negative (0 keeps by count only)")
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleSettings:
    """The operator console (``onec-sync console serve``): a browser page for people."""

    listen: str = "127.0.0.1:8090"  # loopback: put a TLS proxy in front to reach it from elsewhere
    secret_key: Secret = field(default_factory=lambda: Secret(""))  # signs cookies and CSRF tokens
    cookie_secure: bool = False  # send the session cookie over HTTPS only (set behind TLS)
    session_hours: float = 12.0  # a login lasts this long
    threads: int = 4  # requests served at once
    login_rate_limit: str = "10/minute"  # failed logins per client address and per username

    def problems(self) -> list[str]:
        found = []
        if self.session_hours <= 0:
            found.append("console.session_hours: must be positive")
        if self.threads < 1:
            found.append("console.threads: must be at least 1")
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangesSettings:
    """The change feed (``GET /api/v1/changes``) and its signed webhooks."""

    enabled: bool = True  # write change events: the catalog's with every sync, and the orders'
    max_wait_seconds: float = 30.0  # longest long-poll a reader may ask for (``wait=``)
    # long-polls that may wait at once on one API host; 0: half its request slots, rounded down
    max_waiting: int = 0
    webhook_timeout_seconds: float = 10.0  # one delivery's HTTP request
    webhook_batch: int = 100  # events per delivery (one POST)
    webhook_backoff_initial_seconds: float = 1.0  # first retry wait, doubling, with jitter
    webhook_backoff_max_seconds: float = 600.0
    webhook_failing_after: int = 8  # failed attempts in a row that mark an endpoint failing

    def problems(self) -> list[str]:
        found = []
        if not 0 <= self.max_wait_seconds <= 300:
            found.append("changes.max_wait_seconds: must be between 0 and 300")
        if self.max_waiting < 0:
            found.append("changes.max_waiting: must be 0 (half the API's request slots) or more")
        if self.webhook_timeout_seconds <= 0:
            found.append("changes.webhook_timeout_seconds: must be above zero")
        if not 1 <= self.webhook_batch <= 1000:
            found.append("changes.webhook_batch: must be between 1 and 1000")
        if not 0 < self.webhook_backoff_initial_seconds <= self.webhook_backoff_max_seconds:
            found.append(
                "changes.webhook_backoff_initial_seconds: must be above zero and at most "
                "webhook_backoff_max_seconds"
            )
        if self.webhook_failing_after < 1:
            found.append("changes.webhook_failing_after: must be at least 1")
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
    housekeeping: HousekeepingSettings = field(default_factory=HousekeepingSettings)
    storefront: StorefrontSettings = field(default_factory=StorefrontSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    proxy: ProxySettings = field(default_factory=ProxySettings)
    changes: ChangesSettings = field(default_factory=ChangesSettings)
    source: Path | None = None  # the file these came from, if any


def _timezone_problems(key: str, name: str) -> list[str]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"{key}: unknown time zone {name!r}"]
    return []
