"""1C's standard OData interface: pulls into the catalog, order pushes, and the client for both.

* ``sync.run_odata_sync``  pull streams (catalog, prices, stock, customers) -> ``RunResult``
* ``orders.push_orders``   the shop's orders -> 1C documents, exactly once -> ``PushResult``
* ``check.check_odata``    can we reach 1C; does it publish what the configuration names
* ``client.ODataClient``   httpx client: URLs, paging, one retry policy (``retry``), one error
  tree (``errors``)
* ``streams``, ``pull``, ``state``, ``outbox``: what each stream reads, how a pull resumes,
  the SQL of pulls and of the order outbox.

The CLI and the daemon call the same functions; each takes ``should_stop`` (polled between
committed batches) and never commits half a batch.

May import: ``syncd.importer``, ``syncd.store``, ``config``, ``exchange_formats``; never
``syncd.exchange`` or ``syncd.daemon``.
"""
