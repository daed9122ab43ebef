"""Alembic environment for the spool. Migrations run from code (kiosk.storage.spool_files), on the
connection the kiosk opened, so the durability settings apply to them too."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
