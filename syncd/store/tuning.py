"""Which PostgreSQL server settings slow a large first import, measured on the server itself.

``measure`` reads the settings (``pg_settings``: as the connecting role sees them, so role and
database defaults count) and the sizes of the database and of the catalog's indexes;
``advise`` compares them with what a first import of a large catalog needs and returns one
``Advice`` per setting to change, each with the value to set and why. ``advise`` is pure.
Before a first import the catalog is still empty, so ``advise`` takes the number of products
the import will bring (``onec-sync db check --products N``) and sizes ``shared_buffers`` for
the indexes of that catalog: ``N`` times the index bytes per product measured on the catalog
already stored, or ``INDEX_BYTES_PER_PRODUCT`` while it holds fewer than ``MEASURED_FROM``.

The figures behind the thresholds: a first import writes every catalog table and its B-tree
indexes on 1C's random GUID keys, so each batch touches index pages all over each index. While
the indexes fit in ``shared_buffers`` that costs nothing; once they outgrow it (128 MB by default:
well before 1,000,000 products) PostgreSQL copies pages between its buffers and the OS cache on
every batch, and the import slows as the catalog grows. The import also writes several GB of WAL
(a checkpoint every ``max_wal_size``, each followed by a full image of every page touched first
after it). ``synchronous_commit`` is measured but never advised: the import sets it off for its
own batch transactions (``SET LOCAL``; a batch and its checkpoint commit together, so a crash
only makes the import write the last batches again).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

MB = 1024 * 1024
GB = 1024 * MB
SETTINGS = (
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "max_wal_size",
    "checkpoint_timeout",
    "synchronous_commit",
    "effective_cache_size",
)
CATALOG_TABLES = (
    "catalog_groups",
    "products",
    "product_groups",
    "product_images",
    "product_property_values",
    "offers",
    "prices",
    "stock",
)
# The catalog's index bytes per product, rounded up from what first imports of
# ``bench/gen_package.py``'s package measured (one offer, a price and stock each, groups,
# properties, images; the text GUID keys of every table and the search index): 2.6 KB at
# 100,000 products (249MB), 2.5 KB at 1,000,000 (2.37GB).
INDEX_BYTES_PER_PRODUCT = 2900
MEASURED_FROM = 10_000  # products stored before their own figure replaces the one above
_UNIT_BYTES = {"B": 1, "kB": 1024, "8kB": 8192, "16kB": 16384, "MB": MB, "GB": GB}
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerFacts:
    """Sizes in bytes, times in seconds, ``synchronous_commit`` as the server names it."""

    shared_buffers: int
    work_mem: int
    maintenance_work_mem: int
    max_wal_size: int
    checkpoint_timeout: float
    synchronous_commit: str
    effective_cache_size: int
    database_size: int
    catalog_index_size: int
    role: str
    products: int = 0  # stored now


@dataclass(frozen=True, slots=True)
class Advice:
    setting: str
    current: str
    wanted: str
    why: str
    how: str  # the statement that changes it

    def line(self) -> str:
        return f"{self.setting} = {self.current}: set {self.wanted} ({self.how}): {self.why}"


def measure(engine: Engine) -> ServerFacts:
    """The server's settings and the database's sizes (one short read-only transaction)."""
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT name, setting, unit FROM pg_settings WHERE name = ANY(:names)"),
            {"names": list(SETTINGS)},
        ).all()
        sizes = connection.execute(
            text(
                "SELECT pg_database_size(current_database()),"
                " coalesce(sum(pg_relation_size(i.indexrelid)), 0), current_user,"
                " to_regclass('products') IS NOT NULL"
                "  FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
                "  JOIN pg_namespace n ON n.oid = t.relnamespace"
                " WHERE n.nspname = current_schema() AND t.relname = ANY(:tables)"
            ),
            {"tables": list(CATALOG_TABLES)},
        ).one()
        products = sizes[3] and connection.execute(text("SELECT count(*) FROM products")).scalar()
    values = {name: (setting, unit) for name, setting, unit in rows}
    return ServerFacts(
        shared_buffers=_bytes(values["shared_buffers"]),
        work_mem=_bytes(values["work_mem"]),
        maintenance_work_mem=_bytes(values["maintenance_work_mem"]),
        max_wal_size=_bytes(values["max_wal_size"]),
        checkpoint_timeout=_seconds(values["checkpoint_timeout"]),
        synchronous_commit=str(values["synchronous_commit"][0]),
        effective_cache_size=_bytes(values["effective_cache_size"]),
        database_size=int(sizes[0]),
        catalog_index_size=int(sizes[1]),
        role=str(sizes[2]),
        products=int(products or 0),
    )


def _bytes(value: tuple[str, str | None]) -> int:
    setting, unit = value
    return int(setting) * _UNIT_BYTES[unit or "B"]


def _seconds(value: tuple[str, str | None]) -> float:
    setting, unit = value
    return float(setting) * _UNIT_SECONDS[unit or "s"]


def advise(facts: ServerFacts, *, products: int = 0) -> list[Advice]:
    """The settings to change for a large first import, in the order they matter; ``products``:
    how many the catalog will hold after it (0: as many as now)."""
    found = [
        _shared_buffers(facts, products),
        _max_wal_size(facts),
        _checkpoint_timeout(facts),
        _maintenance_work_mem(facts),
        _work_mem(facts),
        _effective_cache_size(facts),
    ]
    return [advice for advice in found if advice is not None]


def expected_index_size(facts: ServerFacts, products: int) -> int:
    """The catalog's index bytes once it holds ``products`` (never less than now)."""
    if facts.products >= MEASURED_FROM:
        per_product = facts.catalog_index_size / facts.products
    else:
        per_product = INDEX_BYTES_PER_PRODUCT
    return max(facts.catalog_index_size, int(products * per_product))


def _shared_buffers(facts: ServerFacts, products: int) -> Advice | None:
    indexes = expected_index_size(facts, products)
    wanted = max(GB, _round_up(indexes * 5 // 4, 256 * MB))
    if facts.shared_buffers >= wanted:
        return None
    coming = f", about {size(indexes)} at {products:,} products" if products else ""
    return Advice(
        "shared_buffers",
        size(facts.shared_buffers),
        f"{size(wanted)} or more, up to a quarter of the server's memory",
        f"the catalog's indexes ({size(facts.catalog_index_size)} now{coming}) on random 1C "
        "GUIDs must fit in it, or each batch copies index pages to and from the OS cache (a "
        "restart applies it)",
        f"ALTER SYSTEM SET shared_buffers = '{_setting_size(wanted)}'",
    )


def _max_wal_size(facts: ServerFacts) -> Advice | None:
    if facts.max_wal_size >= 4 * GB:
        return None
    return Advice(
        "max_wal_size",
        size(facts.max_wal_size),
        "8GB",
        "a large first import writes several GB of WAL: below that a checkpoint is forced every "
        f"{size(facts.max_wal_size)} and the pages written next go to the WAL whole again",
        "ALTER SYSTEM SET max_wal_size = '8GB'; SELECT pg_reload_conf()",
    )


def _checkpoint_timeout(facts: ServerFacts) -> Advice | None:
    if facts.checkpoint_timeout >= 15 * 60:
        return None
    return Advice(
        "checkpoint_timeout",
        f"{facts.checkpoint_timeout / 60:g}min",
        "15min",
        "each checkpoint makes the next change of every page write the whole page to the WAL; "
        "fewer checkpoints during the import write less (crash recovery takes longer)",
        "ALTER SYSTEM SET checkpoint_timeout = '15min'; SELECT pg_reload_conf()",
    )


def _maintenance_work_mem(facts: ServerFacts) -> Advice | None:
    if facts.maintenance_work_mem >= 256 * MB:
        return None
    return Advice(
        "maintenance_work_mem",
        size(facts.maintenance_work_mem),
        "512MB",
        "VACUUM of the freshly loaded tables (autovacuum's too) and any CREATE INDEX after the "
        "load work in this much memory; below it VACUUM scans each index more than once and "
        "CREATE INDEX sorts in temporary files",
        f"ALTER ROLE \"{facts.role}\" SET maintenance_work_mem = '512MB'",
    )


def _work_mem(facts: ServerFacts) -> Advice | None:
    if facts.work_mem >= 16 * MB:
        return None
    return Advice(
        "work_mem",
        size(facts.work_mem),
        "32MB",
        "each batch's staging rows are sorted by key (DISTINCT ON) before the upsert; a batch "
        "larger than this sorts in temporary files",
        f"ALTER ROLE \"{facts.role}\" SET work_mem = '32MB'",
    )


def _effective_cache_size(facts: ServerFacts) -> Advice | None:
    wanted = facts.database_size + facts.shared_buffers
    if facts.effective_cache_size >= wanted:
        return None
    return Advice(
        "effective_cache_size",
        size(facts.effective_cache_size),
        f"{size(_round_up(wanted, GB))} or more, about three quarters of the server's memory",
        f"it is below the database ({size(facts.database_size)}) plus shared_buffers, so the "
        "planner expects index reads to go to disk and prefers scanning whole tables",
        f"ALTER SYSTEM SET effective_cache_size = '{_setting_size(_round_up(wanted, GB))}'; "
        "SELECT pg_reload_conf()",
    )


def _round_up(value: int, step: int) -> int:
    return max(step, -(-value // step) * step)


def size(value: int) -> str:
    """``134217728`` -> ``"128MB"``, ``1610612736`` -> ``"1.5GB"`` (PostgreSQL's units)."""
    if value >= GB:
        return f"{value / GB:.2f}".rstrip("0").rstrip(".") + "GB"
    if value >= MB:
        return f"{value / MB:.0f}MB"
    return f"{value / 1024:.0f}kB"


def _setting_size(value: int) -> str:
    return f"{value // GB}GB" if value % GB == 0 else f"{value // MB}MB"
