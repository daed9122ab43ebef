"""SQLite through SQLAlchemy: the patron snapshot (read-only, swapped atomically) and the
transaction spool (append-only, durable before anyone is told "done")."""
