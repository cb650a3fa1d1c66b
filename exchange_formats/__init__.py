"""Pure, streaming readers and writers of the formats 1C speaks (CommerceML XML, OData JSON).

Bytes in, frozen records out (``exchange_formats.records``); records in, bytes out for what we
send. This package imports nothing else of onec-sync and no database, HTTP, web or cache library.
"""
