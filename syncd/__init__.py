"""The daemon side of onec-sync: everything that talks to 1C or writes the database.

Five wings, each allowed to import only the wings before it (``make lint`` checks this)::

    store/      the database: engine, models, migrations, unit of work, locks, audit, events
    importer/   the one pipeline every source goes through: inputs, package, batches, writer,
                repository, undo, lanes, ledger, checkpoints, quarantine
    exchange/   1C's HTTP site exchange, an adapter over the importer
    odata/      1C's OData REST interface: pulls through the importer, order pushes
    daemon/     the process: jobs, guard, schedules, leadership, folder inbox, housekeeping,
                health, metrics, status, logs, systemd notify

``exchange`` and ``odata`` are siblings and never import each other.
"""
