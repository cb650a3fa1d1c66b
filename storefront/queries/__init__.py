"""Read-only queries returning plain dicts, shaped exactly as the API sends them.

Every listing runs a fixed number of statements whatever its page size (no N+1): a page query,
then one batched query per kind of detail.
"""
