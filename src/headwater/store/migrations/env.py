"""Alembic environment: migrations run on the connection `headwater.store.sql` hands over.

There is no alembic.ini: `sql.migrate()` builds the config in code and passes its open
connection (already holding the migration lock) in `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context

from headwater.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
