"""Folder exchange: complete packages are imported once and moved; nothing else is touched."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from config import DatabaseSettings, Settings
from syncd.daemon.inbox import WORK_DIR, scan_inbox
from syncd.store import models
from syncd.store.engine import make_engine
from syncd.store.locks import LockBusy, named_lock
from tests.cml_builder import catalog, write_package
from tests.daemon.conftest import backdate, count, drop_package, folder_settings, never, no_wait


def scan(settings: Settings, engine: Engine, **kw: object) -> list:  # type: ignore[type-arg]
    options: dict[str, object] = {"should_stop": never, "sleep": no_wait, "actor": "test"}
    options.update(kw)
    return scan_inbox(settings, engine, **options)  # type: ignore[arg-type]


def processing(settings: Settings) -> list[str]:
    assert settings.folder.inbox is not None
    return sorted(p.name for p in (settings.folder.inbox / WORK_DIR / "processing").iterdir())


def names(directory: Path | None) -> list[str]:
    assert directory is not None
    if not directory.exists():
        return []
    return sorted(p.name.split("_", 1)[1] for p in directory.iterdir())


@pytest.fixture
def setup(
    fresh_database_url: str, tmp_path: Path, make_db_engine: Callable[..., Engine]
) -> tuple[Settings, Engine]:
    return folder_settings(fresh_database_url, tmp_path, settle=5), make_db_engine(
        fresh_database_url
    )


def test_a_settled_package_folder_is_imported_and_moved_to_done(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    drop_package(settings.folder.inbox, "exchange-1", products=7)

    outcomes = scan(settings, engine)

    assert [(o.name, o.outcome) for o in outcomes] == [("exchange-1", "succeeded")]
    assert count(engine, models.Product) == 7
    assert names(settings.folder.done_path) == ["exchange-1"]
    assert list(settings.folder.inbox.iterdir()) == [settings.folder.inbox / WORK_DIR]
    assert processing(settings) == []
    assert scan(settings, engine) == []  # imported exactly once


def test_loose_files_in_the_inbox_are_one_package_with_their_images(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    inbox = settings.folder.inbox
    assert inbox is not None
    write_package(inbox, catalog(4))
    image = inbox / "import_files" / "ab" / "abc.jpg"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"\xff\xd8\xff jpeg bytes")
    backdate(inbox, 60)

    outcomes = scan(settings, engine)

    assert [(o.name, o.outcome) for o in outcomes] == [("inbox", "succeeded")]
    assert count(engine, models.Product) == 4
    with Session(engine) as session:
        assert session.execute(select(models.MediaFile.path)).scalars().all() == [
            "import_files/ab/abc.jpg"
        ]
    moved = next(settings.folder.done_path.iterdir())  # type: ignore[union-attr]
    assert sorted(p.name for p in moved.iterdir()) == ["import.xml", "import_files", "offers.xml"]


def test_zip_archives_dropped_into_the_inbox_are_unpacked_and_imported(
    setup: tuple[Settings, Engine], tmp_path: Path
) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    files = write_package(tmp_path / "src", catalog(3))
    archive = settings.folder.inbox / "v8_1A2B_1.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in files:
            zipped.write(path, path.name)
    backdate(archive, 60)

    assert [o.outcome for o in scan(settings, engine)] == ["succeeded"]
    assert count(engine, models.Product) == 3


def test_a_package_written_moments_ago_waits_until_it_settles(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    package = drop_package(settings.folder.inbox, "fresh", age=0)

    assert scan(settings, engine) == []
    assert package.is_dir()
    assert count(engine, models.Product) == 0

    backdate(package, 6)  # settle_seconds is 5
    assert [o.outcome for o in scan(settings, engine)] == ["succeeded"]


@pytest.mark.parametrize("marker", ["complete", ".done"])
def test_a_marker_file_makes_a_fresh_package_complete_at_once(
    setup: tuple[Settings, Engine], marker: str
) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    package = drop_package(settings.folder.inbox, "marked", age=0)
    (package / marker).touch()

    assert [o.outcome for o in scan(settings, engine)] == ["succeeded"]


def test_a_file_that_grows_between_the_two_looks_is_not_imported(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    package = drop_package(settings.folder.inbox, "growing")
    (package / "complete").touch()  # even with a marker: 1C may still be writing a file
    offers = package / "offers.xml"

    def one_c_still_writing(_seconds: float) -> bool:
        with offers.open("ab") as out:
            out.write(b"\n")
        return False

    assert scan(settings, engine, sleep=one_c_still_writing) == []
    assert package.is_dir()
    assert count(engine, models.Product) == 0
    assert [o.outcome for o in scan(settings, engine)] == ["succeeded"]  # quiet now


def test_a_temporary_file_keeps_the_package_waiting(setup: tuple[Settings, Engine]) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    package = drop_package(settings.folder.inbox, "copying")
    (package / "offers.xml.part").write_bytes(b"<half")
    backdate(package, 60)

    assert scan(settings, engine) == []
    (package / "offers.xml.part").unlink()
    assert [o.outcome for o in scan(settings, engine)] == ["succeeded"]


def test_a_bad_package_goes_to_failed_with_its_reason_and_writes_nothing(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    package = drop_package(settings.folder.inbox, "broken")
    offers = package / "offers.xml"
    offers.write_bytes(offers.read_bytes().replace(b"</\xd0\x9f\xd1\x80", b"</Broken", 1))
    backdate(package, 60)

    [outcome] = scan(settings, engine)

    assert outcome.outcome == "failed"
    assert count(engine, models.Product) == 0  # a full package is read through before writing
    failed = settings.folder.failed_path
    assert failed is not None
    assert names(failed) == ["broken", "broken.reason.txt"]
    reason = next(failed.glob("*.reason.txt")).read_text(encoding="utf-8")
    assert "package: broken" in reason
    assert "offers.xml" in reason
    assert "line" in reason
    assert any(settings.paths.quarantine_dir.glob("*offers.xml"))  # kept byte for byte
    assert sorted(p.name for p in outcome.moved_to.iterdir()) == ["import.xml", "offers.xml"]


def test_a_folder_without_anything_importable_is_left_alone(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    notes = settings.folder.inbox / "notes"
    notes.mkdir()
    (notes / "readme.txt").write_text("not a package")
    backdate(notes, 60)

    assert scan(settings, engine) == []
    assert (notes / "readme.txt").exists()


def test_a_stopped_import_stays_claimed_and_the_next_scan_finishes_it(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    settings = replace(settings, import_=replace(settings.import_, batch_size=10))
    assert settings.folder.inbox is not None
    drop_package(settings.folder.inbox, "big", products=200)
    progress: list[int] = []

    [stopped] = scan(
        settings, engine, on_progress=lambda p: progress.append(p.records_done),
        should_stop=lambda: len(progress) >= 3,
    )  # fmt: skip

    assert stopped.outcome == "interrupted"
    assert 0 < count(engine, models.Product) < 200
    assert [name.split("_", 1)[1] for name in processing(settings)] == ["big"]
    [finished] = scan(settings, engine)
    assert finished.outcome == "succeeded"
    assert finished.run is not None
    assert finished.run.resumed
    assert count(engine, models.Product) == 200
    assert names(settings.folder.done_path) == ["big"]


def test_an_unreachable_database_fails_the_scan_and_loses_nothing(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    drop_package(settings.folder.inbox, "during-outage")
    down = DatabaseSettings(url="postgresql+psycopg://127.0.0.1:1/none", connect_timeout_seconds=1)
    down_engine = make_engine(down)

    with pytest.raises(OperationalError):
        scan(replace(settings, database=down), down_engine)

    down_engine.dispose()
    assert [o.name for o in scan(settings, engine)] == ["during-outage"]
    assert count(engine, models.Product) == 5


def test_a_package_a_crash_left_claimed_is_imported_first(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    claimed = settings.folder.inbox / WORK_DIR / "processing" / "20260101T000000.000000Z_crashed"
    write_package(claimed, catalog(6))
    drop_package(settings.folder.inbox, "later", products=8)

    assert [o.name for o in scan(settings, engine)] == ["crashed", "later"]
    assert names(settings.folder.done_path) == ["crashed", "later"]


def test_only_one_process_scans_the_inbox_at_a_time(setup: tuple[Settings, Engine]) -> None:
    settings, engine = setup
    assert settings.folder.inbox is not None
    drop_package(settings.folder.inbox, "waiting")
    with named_lock(engine, "folder-scan"), pytest.raises(LockBusy):
        scan(settings, engine)
    assert (settings.folder.inbox / "waiting").is_dir()


def test_done_and_failed_folders_kept_inside_the_inbox_are_not_packages(
    setup: tuple[Settings, Engine],
) -> None:
    settings, engine = setup
    inbox = settings.folder.inbox
    assert inbox is not None
    settings = replace(
        settings,
        folder=replace(settings.folder, done_dir=inbox / "done", failed_dir=inbox / "failed"),
    )
    drop_package(inbox, "first")
    assert [o.outcome for o in scan(settings, engine)] == ["succeeded"]
    backdate(inbox / "done", 60)
    assert scan(settings, engine) == []  # done/first is not imported again
