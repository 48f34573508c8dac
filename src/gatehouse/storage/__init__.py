"""Storage adapters: schema, migrations, SQLite (default) and PostgreSQL."""
