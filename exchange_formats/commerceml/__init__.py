"""CommerceML 2.03-2.10 and 3.1: streaming readers and the orders writer.

    from exchange_formats.commerceml import detect, open_document, read_orders, write_orders

    header = detect(path_or_binary_file, name="import0_1.xml")      # reads only the head
    doc = open_document(path_or_binary_file, name="offers.xml", tz=ZoneInfo("Europe/Moscow"))
    for record in doc.records(): ...     # Group/Property/PriceType/Warehouse/Unit/Product/
                                         # Offer/OfferPrices/OfferStock/Contractor/Order
    doc.only_changes                     # final СодержитТолькоИзменения, after records()
    orders = read_orders(path_or_binary_file, name=..., tz=...)
    write_orders(orders, out_binary_file, version="2.05", encoding="utf-8", ...)

Elements are matched by local name, so any namespace (none, commerceml_2, commerceml_210,
commerceml_3) reads the same; the XML declaration's encoding is honoured. Every problem with the
input is a ``FormatError`` naming the file, line and element.
"""

from exchange_formats.commerceml.document import Document, open_document, read_orders
from exchange_formats.commerceml.header import detect
from exchange_formats.commerceml.orders_writer import delivery_line, write_orders

__all__ = ["Document", "delivery_line", "detect", "open_document", "read_orders", "write_orders"]
