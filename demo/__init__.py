"""``make demo``: onec-sync end to end, with everything it has (the daemon, 1C's exchange played
by the emulator, the folder inbox, the storefront API). It stands above every package, since it
uses all of them; no product package imports it.
"""
