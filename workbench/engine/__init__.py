"""The engine: plan (pure), the dispatcher of every model call (gates, retries, cache, group
commit, cost ledger), the grid runner, and the SQLite store."""
