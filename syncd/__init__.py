"""The daemon side of onec-sync: everything that talks to 1C or writes the database."""
