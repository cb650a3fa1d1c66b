"""The API the shop reads: catalog, search, prices, stock, order intake and status."""
