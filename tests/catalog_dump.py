"""A canonical dump of the catalog tables: what a shop would see, minus surrogate keys and clocks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from syncd.store import models

CATALOG_MODELS = (
    models.Group,
    models.Property,
    models.PropertyOption,
    models.Unit,
    models.PriceType,
    models.Warehouse,
    models.Product,
    models.ProductGroup,
    models.ProductImage,
    models.ProductPropertyValue,
    models.Offer,
    models.Price,
    models.Stock,
    models.Customer,
)
_SKIP = {"id", "created_at", "updated_at"}


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal | float):
        return Decimal(str(value)).normalize()
    if isinstance(value, list):
        return tuple(_canonical(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _canonical(v)) for k, v in value.items()))
    return value


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for model in CATALOG_MODELS:
            table = models.table(model)
            columns = [c for c in table.columns if c.name not in _SKIP]
            rows = conn.execute(select(*columns)).all()
            out[table.name] = sorted(tuple(_canonical(v) for v in row) for row in rows)
    return out


def updated_at(engine: Engine) -> dict[str, list[Any]]:
    """Every row's ``updated_at``, to prove a replay rewrote nothing."""
    out = {}
    with engine.connect() as conn:
        for model in CATALOG_MODELS:
            table = models.table(model)
            if "updated_at" in table.c:
                key = [c for c in table.columns if c.name not in _SKIP][:3]
                rows = conn.execute(select(*key, table.c.updated_at)).all()
                out[table.name] = sorted(tuple(map(str, row)) for row in rows)
    return out
