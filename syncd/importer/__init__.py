"""The one import pipeline: every source's records become rows through the same code.

Owns what an import is given (``inputs``; ``archive``, ``names`` and ``media`` keep 1C's zips,
file names and images safe for every door), a package's files (``package``), batching
(``batches``), the writer and all its SQL (``writer``, ``repository``), the undo journal of a
full package (``undo``), two-process lanes (``lanes``), the run's ledger and results (``ledger``,
``results``), stream checkpoints (``checkpoints``), quarantine, order documents from 1C
(``order_updates``) and the pipeline that ties them (``pipeline``).

May import: ``syncd.store``, ``config``, ``exchange_formats``.
"""
