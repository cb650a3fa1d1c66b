"""Pure, streaming readers and writers of the formats 1C speaks (CommerceML XML, OData JSON).

Bytes in, frozen records out (``exchange_formats.records``); records in, bytes out for what we
send. This package imports nothing else of onec-sync and no database, HTTP, web or cache library.

* ``records``     the shared vocabulary every source produces and every sink consumes
* ``errors``      ``FormatError`` (file, line, element) and ``UnsafeDocumentError``
* ``commerceml``  CommerceML 2.03-2.10/3.1: ``detect``, ``open_document``, ``read_orders``,
                  ``write_orders`` (see its docstring)
* ``_xml``        the one safe streaming XML reader everything parses through: no DTD, no
                  entities, no network, bounded depth and text length
"""
