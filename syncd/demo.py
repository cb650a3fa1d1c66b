"""``make demo``: the main job end to end on the embedded default (SQLite), with nothing to set up.

Everything lands in ``var/demo/`` (recreated on every run): a configuration file, the SQLite
database and the daemon's data folder, so the commands printed at the end work as shown.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from config import load_settings
from syncd import migrate
from syncd.db import make_engine

DEMO_DIR = Path("var/demo")


def write_demo_config(demo_dir: Path) -> Path:
    path = demo_dir / "onec-sync.toml"
    path.write_text(
        "# Written by `make demo`; every key is documented in config/onec-sync.example.toml\n"
        "[database]\n"
        f'url = "sqlite:///{demo_dir / "onec-sync.db"}"\n'
        "[paths]\n"
        f'data_dir = "{demo_dir / "data"}"\n'
        "[logging]\n"
        'format = "text"\n',
        encoding="utf-8",
    )
    return path


def main() -> int:
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    DEMO_DIR.mkdir(parents=True)
    config_path = write_demo_config(DEMO_DIR)
    settings = load_settings(config_path, env={})
    engine = make_engine(settings.database)
    print(f"1. created the SQLite database {settings.database.url.removeprefix('sqlite:///')}")
    migrate.upgrade(engine)
    print(f"2. migrated its schema to revision {migrate.current_revision(engine)}")
    engine.dispose()
    print()
    print("Look at the result:")
    print(f"  .venv/bin/onec-sync --config {config_path} config check")
    print(f"  .venv/bin/onec-sync --config {config_path} db current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
