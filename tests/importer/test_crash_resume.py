"""Crash safety: SIGKILL the importer anywhere, restart it, and end exactly where an
uninterrupted import ends.

The importer runs as a real separate process (``tests/importer/import_driver.py``) that kills
itself with SIGKILL at a chosen point: right before or right after the N-th transaction commit
(every batch boundary of every file, plus the bookkeeping commits around them), or at the M-th
bulk statement inside a batch. The test then runs it again without a fault and compares a
canonical dump of the catalog tables with one from an import that was never interrupted.

A full package whose last file is bad must, killed anywhere (its undo included) and restarted,
end as if it had never been sent.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from syncd.store import models
from tests.catalog_dump import dump
from tests.cml_builder import catalog, write_package

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DRIVER = Path(__file__).with_name("import_driver.py")
REPO = Path(__file__).resolve().parents[2]


def run_driver(url: str, data_dir: Path, files: list[Path], fault: str = "") -> int:
    env = {
        **os.environ,
        "ONEC_SYNC_DATABASE_URL": url,
        "ONEC_SYNC_PATHS_DATA_DIR": str(data_dir),
        "ONEC_SYNC_IMPORT_BATCH_SIZE": "16",
        # On PostgreSQL the catalog and offers files go in two processes even when this small.
        "ONEC_SYNC_IMPORT_PARALLEL_MIN_BYTES": "0",
        "ONEC_SYNC_CONFIG": "",
        "FAULT": fault,
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(
        [sys.executable, str(DRIVER), *map(str, files)],
        env=env,
        cwd=REPO,
        timeout=120,
        start_new_session=True,  # a fault kills the driver's process group, and only that
    )
    return done.returncode


@pytest.fixture
def package(tmp_path: Path) -> list[Path]:
    # A previous full package that the one under test partly replaces and partly hides.
    return write_package(tmp_path / "pkg", catalog(30)[5:] + catalog(3, prefix="N"))


@pytest.fixture
def earlier_package(tmp_path: Path) -> list[Path]:
    return write_package(tmp_path / "old", catalog(30, price=50))


def kill_and_restart(
    url: str, data: Path, files: list[Path], fault: str, *, exit_code: int
) -> None:
    """Run the importer with ``fault`` (it dies there, or finishes), then again without one; both
    must end with ``exit_code`` unless killed."""
    code = run_driver(url, data, files, fault=fault)
    assert code in (-signal.SIGKILL, exit_code), f"{fault}: exit {code}"
    assert run_driver(url, data, files) == exit_code, f"{fault}: the restart ended otherwise"


def commits_of_a_clean_run(url: str, tmp_path: Path, files: list[Path], *, ok: bool = True) -> int:
    code = run_driver(url, tmp_path / "count", files, fault="count")
    assert code == (0 if ok else 1)
    return int((tmp_path / "count" / "commits").read_text())


def test_killed_anywhere_the_import_resumes_to_the_uninterrupted_result(
    backend: str,
    fresh_database_url: str,
    request: pytest.FixtureRequest,
    make_db_engine: Callable[..., Engine],
    tmp_path: Path,
    package: list[Path],
    earlier_package: list[Path],
) -> None:
    new_database = _database_factory(request, backend)
    reference_url = new_database()
    assert run_driver(reference_url, tmp_path / "ref", earlier_package) == 0
    starting_point = new_database(copy_of=reference_url)  # the earlier package only
    assert run_driver(reference_url, tmp_path / "ref", package) == 0
    expected = dump(make_db_engine(reference_url))
    assert expected["products"], "the reference import wrote nothing"

    commits = commits_of_a_clean_run(new_database(copy_of=starting_point), tmp_path, package)
    assert commits > 10, "the package should span many batches"
    rng = random.Random(20261125)
    # Every batch boundary (right after each commit), plus points inside batches: with all of a
    # batch's statements done but not committed, and after a random number of bulk statements.
    faults = [f"after-commit:{n}" for n in range(1, commits + 1)]
    faults += [f"before-commit:{n}" for n in rng.sample(range(1, commits + 1), 6)]
    faults += [f"statement:{rng.randint(1, commits * 4)}" for _ in range(6)]
    if backend == "sqlite":  # the same code path; fewer points keep the suite quick
        faults = rng.sample(faults, 12)

    for fault in faults:
        url = new_database(copy_of=starting_point)
        kill_and_restart(url, tmp_path / fault.replace(":", "-"), package, fault, exit_code=0)
        engine = make_db_engine(url)
        assert dump(engine) == expected, f"state differs after a kill at {fault}"
        with Session(engine) as session:
            runs = session.execute(
                select(func.count())
                .select_from(models.SyncRun)
                .where(models.SyncRun.status.not_in(("succeeded", "unchanged")))
            ).scalar_one()
        assert runs == 0, f"{fault}: a run was left unfinished"
        engine.dispose()


def test_killed_anywhere_a_failing_full_package_still_leaves_the_catalog_as_it_was(
    backend: str,
    request: pytest.FixtureRequest,
    make_db_engine: Callable[..., Engine],
    tmp_path: Path,
    earlier_package: list[Path],
) -> None:
    new_database = _database_factory(request, backend)
    starting_point = new_database()
    assert run_driver(starting_point, tmp_path / "ref", earlier_package) == 0
    expected = dump(make_db_engine(starting_point))
    # Updates the 30 earlier products' prices, adds 120; its offers.xml breaks at the very end
    # (past the 64 KB its header is read from), after import.xml and most offers were written.
    failing = write_package(tmp_path / "failing", catalog(150))
    text = failing[1].read_text(encoding="utf-8")
    failing[1].write_text(text.replace("<Ид>P-00149</Ид>", "<Ид>P-00149</Ид", 1), encoding="utf-8")

    clean = new_database(copy_of=starting_point)
    commits = commits_of_a_clean_run(clean, tmp_path, failing, ok=False)
    assert dump(make_db_engine(clean)) == expected
    assert commits > 10, "the package should span many batches"
    rng = random.Random(20261126)
    # The last commits are the rejection and the undo; the rest are samples of the batches.
    faults = [f"after-commit:{n}" for n in range(commits - 3, commits + 1)]
    faults += [f"after-commit:{n}" for n in rng.sample(range(1, commits - 3), 4)]
    faults += [f"before-commit:{n}" for n in (commits, *rng.sample(range(1, commits), 2))]
    faults += [f"statement:{rng.randint(1, commits * 4)}" for _ in range(2)]
    if backend == "sqlite":  # the same code path in one process; fewer points keep it quick
        faults = rng.sample(faults, 5)

    for fault in faults:
        url = new_database(copy_of=starting_point)
        data = tmp_path / f"failing-{fault.replace(':', '-')}"
        kill_and_restart(url, data, failing, fault, exit_code=1)  # the package fails each time
        engine = make_db_engine(url)
        assert dump(engine) == expected, f"the catalog changed after a kill at {fault}"
        with Session(engine) as session:
            statuses = session.execute(
                select(models.SyncRun.status).where(models.SyncRun.actor == "crash-test")
            ).scalars()
            assert set(statuses) <= {"succeeded", "failed"}, f"{fault}: a run was left unfinished"
            journal = session.execute(select(func.count()).select_from(models.RunUndo))
            assert journal.scalar_one() == 0, f"{fault}: the undo journal was left behind"
        engine.dispose()


def _database_factory(request: pytest.FixtureRequest, backend: str) -> Callable[..., str]:
    """``new_database(copy_of=None)``: a migrated database, empty or a copy of another."""
    if backend == "postgresql":
        server = request.getfixturevalue("pg_server")

        def make_pg(copy_of: str | None = None) -> str:
            if copy_of is None:
                url: str = server.create()
            else:
                url = server.clone(copy_of)
            request.addfinalizer(lambda: server.drop(url))
            return url

        return make_pg
    tmp: Path = request.getfixturevalue("tmp_path")
    counter = iter(range(10_000))

    def make_sqlite(copy_of: str | None = None) -> str:
        from config import DatabaseSettings
        from syncd.store import migrate
        from syncd.store.engine import make_engine

        path = tmp / f"db{next(counter)}.sqlite"
        if copy_of is not None:
            shutil.copy(copy_of.removeprefix("sqlite:///"), path)
            return f"sqlite:///{path}"
        engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
        migrate.upgrade(engine)
        engine.dispose()
        return f"sqlite:///{path}"

    return make_sqlite
