"""The newest schema version, read from the migration files, is Alembic's head."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from headwater.store import schema
from headwater.store.revision import head_revision
from headwater.store.sql import MIGRATIONS


def test_the_highest_numbered_migration_is_alembics_head_and_the_schemas() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()
    assert head_revision() == schema.HEAD_REVISION
