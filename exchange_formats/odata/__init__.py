"""1C's standard OData interface (JSON, v3) <-> the shared records. Pure: no HTTP, no database.

* ``wire``      bytes <-> JSON documents (UTF-8 BOM stripped, numbers as ``Decimal``)
* ``values``    one 1C value -> ours (zero GUID is ``None``, naive server time -> aware)
* ``catalog``   catalog rows -> Group, Product, Offer (characteristics), PriceType, Warehouse
* ``registers`` virtual-table rows (``SliceLast``, ``Balance``) -> OfferPrices, OfferStock
* ``parties``   counterparty rows -> Contractor
* ``orders``    Order -> the JSON body of a 1C document, and 1C's answer -> CreatedDocument
* ``metadata``  ``$metadata`` (CSDL XML) -> the entity sets and properties a base publishes

Readers take *field maps*: a role of ours (``"sku"``) -> the 1C property that holds it
(``"Артикул"``); an empty property name switches the role off. Building the maps from
configuration is the caller's job. Every problem with 1C's data is a ``FormatError`` naming the
entity set (``source``) and the row's ``Ref_Key`` (``element``).
"""
