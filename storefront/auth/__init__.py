"""Who is calling: API keys for machines, JWTs for people, roles and scopes for what they may do."""
