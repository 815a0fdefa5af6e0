"""Write a new migration for schema changes: ``python -m esign.store.migrations revision "add the x table"``.

Autogenerates against a scratch SQLite database migrated to head, so no server is needed; review the file it
writes under ``versions/`` (rename things by hand, add data moves) and run the store tests on both backends.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "revision":
        print('usage: python -m esign.store.migrations revision "what changes"', file=sys.stderr)
        return 2
    from alembic import command

    from esign.store import make_engine
    from esign.store.migrations import alembic_config, head_revision, upgrade

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'head.db'}")
        upgrade(engine)
        number = int(head_revision()) + 1
        with engine.begin() as conn:
            command.revision(alembic_config(conn), message=argv[1], autogenerate=True, rev_id=f"{number:04d}")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
