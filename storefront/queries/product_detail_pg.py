"""The product page's rows in one PostgreSQL statement (JSON built by the server).

Numbers travel as text (JSON numbers would become floats) and are turned back into ``Decimal``
when shaped; the lists come back in the same order as the portable queries give them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from storefront.queries.detail_rows import DetailRows

_DETAIL = text(
    """
SELECT json_build_object(
  'product', json_build_object(
      'onec_id', p.onec_id, 'name', p.name, 'sku', p.sku, 'code', p.code,
      'barcode', p.barcode, 'description', p.description, 'unit', p.unit,
      'unit_code', p.unit_code, 'manufacturer', p.manufacturer, 'country', p.country,
      'brand', p.brand, 'group_onec_id', p.group_onec_id, 'requisites', p.requisites,
      'taxes', p.taxes, 'updated_at', p.updated_at),
  'groups', (
      SELECT coalesce(json_agg(json_build_object('onec_id', g.onec_id, 'name', g.name)
                               ORDER BY g.onec_id IS DISTINCT FROM p.group_onec_id, g.name),
                      '[]')
      FROM catalog_groups g
      WHERE NOT g.is_deleted AND (g.onec_id = p.group_onec_id OR g.onec_id IN (
          SELECT pg.group_onec_id FROM product_groups pg WHERE pg.product_onec_id = p.onec_id))),
  'properties', (
      SELECT coalesce(json_agg(json_build_object(
                 'property_onec_id', v.property_onec_id, 'value', v.value, 'name', pr.name,
                 'option', po.value)
             ORDER BY pr.name, v.property_onec_id, v.position), '[]')
      FROM product_property_values v
      LEFT JOIN properties pr ON pr.onec_id = v.property_onec_id
      LEFT JOIN property_options po
             ON po.property_onec_id = v.property_onec_id AND po.onec_id = v.value
      WHERE v.product_onec_id = p.onec_id),
  'images', (
      SELECT coalesce(json_agg(json_build_object(
                 'path', i.path, 'caption', i.caption, 'sha256', m.sha256, 'size', m.size,
                 'content_type', m.content_type) ORDER BY i.position), '[]')
      FROM product_images i LEFT JOIN media_files m ON m.path = i.path
      WHERE i.product_onec_id = p.onec_id),
  'offers', (
      SELECT coalesce(json_agg(json_build_object(
                 'onec_id', o.onec_id, 'name', o.name, 'sku', o.sku, 'barcode', o.barcode,
                 'unit', o.unit, 'characteristics', o.characteristics,
                 'property_values', o.property_values)
             ORDER BY o.onec_id <> p.onec_id, o.name, o.onec_id), '[]')
      FROM offers o WHERE o.product_onec_id = p.onec_id AND NOT o.is_deleted),
  'prices', (
      SELECT coalesce(json_agg(json_build_object(
                 'offer_onec_id', x.offer_onec_id, 'price_type_onec_id', x.price_type_onec_id,
                 'value', x.value::text, 'currency', x.currency, 'unit', x.unit,
                 'presentation', x.presentation, 'min_quantity', x.min_quantity::text,
                 'name', t.name)
             ORDER BY t.id, x.price_type_onec_id), '[]')
      FROM prices x LEFT JOIN price_types t ON t.onec_id = x.price_type_onec_id
      WHERE x.product_onec_id = p.onec_id),
  'stock', (
      SELECT coalesce(json_agg(json_build_object(
                 'offer_onec_id', s.offer_onec_id, 'warehouse_onec_id', s.warehouse_onec_id,
                 'quantity', s.quantity::text, 'name', w.name)
             ORDER BY w.name, s.warehouse_onec_id), '[]')
      FROM stock s LEFT JOIN warehouses w ON w.onec_id = s.warehouse_onec_id
      WHERE s.product_onec_id = p.onec_id),
  'options', (
      SELECT coalesce(json_agg(json_build_object(
                 'property_onec_id', po.property_onec_id, 'onec_id', po.onec_id,
                 'value', po.value)), '[]')
      FROM property_options po
      WHERE (po.property_onec_id, po.onec_id) IN (
          SELECT e ->> 'property', val
          FROM offers o,
               jsonb_array_elements(CASE jsonb_typeof(o.property_values)
                                    WHEN 'array' THEN o.property_values ELSE '[]' END) e,
               jsonb_array_elements_text(CASE jsonb_typeof(e -> 'values')
                                         WHEN 'array' THEN e -> 'values' ELSE '[]' END) val
          WHERE o.product_onec_id = p.onec_id AND NOT o.is_deleted))
)
FROM products p
WHERE p.onec_id = :onec_id AND NOT p.is_deleted
"""
)


def fetch_detail_rows(session: Session, onec_id: str) -> DetailRows | None:
    document: dict[str, Any] | None = session.execute(_DETAIL, {"onec_id": onec_id}).scalar()
    if document is None:
        return None
    product = dict(document["product"])
    if product["updated_at"] is not None:
        product["updated_at"] = datetime.fromisoformat(product["updated_at"])
    return DetailRows(
        product=product,
        groups=document["groups"],
        properties=document["properties"],
        images=document["images"],
        offers=document["offers"],
        prices=document["prices"],
        stock=document["stock"],
        options={(o["property_onec_id"], o["onec_id"]): o["value"] for o in document["options"]},
    )
