"""``GET /changes`` (the feed: order, resume, kinds, long-poll, retention) and ``GET /media``."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.orm import Session

from config import Settings
from config.settings import ChangesSettings, DatabaseSettings, PathSettings, RedisSettings
from storefront.feed_waker import FEED_WAKER_EXTENSION
from storefront.openapi import CHANGE_FEED_OPERATIONS, document
from syncd.importer.media import MediaStore
from syncd.importer.pipeline import import_files
from syncd.store import changes
from syncd.store.engine import make_engine, make_session_factory
from syncd.store.models import MediaFile
from tests.cml_builder import catalog, write_package
from tests.storefront.conftest import Api, make_settings, with_storefront

pytestmark = pytest.mark.postgres

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def feed_settings(url: str, tmp_path: Path, **storefront: Any) -> Settings:
    base = make_settings(url, **storefront)
    return dataclasses.replace(
        base,
        paths=PathSettings(data_dir=tmp_path / "data"),
        changes=ChangesSettings(max_wait_seconds=5),
    )


@pytest.fixture
def feed_api(
    seeded_url: tuple[str, dict[str, str]], app_factory: Callable[..., Flask], tmp_path: Path
) -> Api:
    url, keys = seeded_url
    settings = feed_settings(url, tmp_path)
    import_files(
        make_engine(settings.database), write_package(tmp_path / "a", catalog(4)), settings
    )
    return Api(app_factory(settings), keys, url)


def all_events(api: Api, query: str = "", limit: int = 7) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = api.get(f"/api/v1/changes?after={after}&limit={limit}{query}").get_json()
        items += page["items"]
        if not page["items"]:
            return items
        after = page["next_after"]


def test_the_feed_pages_through_every_event_in_order_and_resumes_anywhere(feed_api: Api) -> None:
    items = all_events(feed_api)
    positions = [e["position"] for e in items]
    assert positions == sorted(set(positions))
    assert {(e["kind"], e["id"], e["action"]) for e in items} >= {
        ("product", "P-00001", "created"),
        ("offer", "P-00001", "created"),
        ("group", "G-2", "created"),
    }
    middle = positions[len(positions) // 2]
    rest = feed_api.get(f"/api/v1/changes?after={middle}&limit=1000").get_json()
    assert [e["position"] for e in rest["items"]] == [p for p in positions if p > middle]
    assert rest["head"] == positions[-1]


def test_kinds_filter_the_feed_and_an_empty_page_skips_to_the_head(feed_api: Api) -> None:
    offers = all_events(feed_api, "&kinds=offer&kinds=price")
    assert {e["kind"] for e in offers} == {"offer"}  # a first import: prices ride on the offers
    assert all(e["data"]["prices"] for e in offers if e["action"] == "created")
    orders = feed_api.get("/api/v1/changes?kinds=order").get_json()
    assert orders["items"] == []
    assert orders["next_after"] == orders["head"] > 0


@pytest.mark.parametrize(
    "query",
    ["after=-1", "after=x", "limit=0", "limit=1001", "kinds=customer", "wait=6", "wait=-1", "x=1"],
)
def test_bad_parameters_are_400s_naming_the_field(feed_api: Api, query: str) -> None:
    response = feed_api.get(f"/api/v1/changes?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]


def test_the_feed_needs_catalog_read_credentials(feed_api: Api) -> None:
    assert feed_api.get("/api/v1/changes", role=None).status_code == 401
    assert feed_api.get("/api/v1/changes", role="revoked").status_code == 401


def test_a_long_poll_answers_when_an_event_commits(feed_api: Api, tmp_path: Path) -> None:
    head = feed_api.get("/api/v1/changes?limit=1").get_json()["head"]

    def commit_later() -> None:
        time.sleep(0.5)
        engine = make_engine(DatabaseSettings(url=feed_api.database_url))
        with Session(engine) as session:
            found = changes.ChangeSet()
            found.add("order", "W-1", "status", {"status": "shipped"})
            changes.append(session, found)
            session.commit()
        engine.dispose()

    writer = threading.Thread(target=commit_later)
    writer.start()
    page = feed_api.get(f"/api/v1/changes?after={head}&wait=5").get_json()
    writer.join()
    assert [(e["kind"], e["id"], e["data"]) for e in page["items"]] == [
        ("order", "W-1", {"status": "shipped"})
    ]
    # Nothing new: the same request waits and then answers an empty page at the same position.
    again = feed_api.get(f"/api/v1/changes?after={page['next_after']}&wait=0.3").get_json()
    assert again["items"] == []
    assert again["next_after"] == page["next_after"]


def test_a_long_poll_is_woken_through_redis_when_another_process_commits_an_event(
    feed_api: Api, app_factory: Callable[..., Flask], redis_url: str
) -> None:
    settings = dataclasses.replace(
        feed_api.app.extensions["onec_sync_settings"],
        redis=RedisSettings(url=redis_url, socket_timeout_seconds=0.3),
    )
    # The database is looked at again only after a minute: within the 5 s wait, only the
    # announcement can make the request read the event.
    api = Api(app_factory(settings, FEED_RECHECK_SECONDS=60), feed_api.keys, feed_api.database_url)
    head = api.get("/api/v1/changes?limit=1").get_json()["head"]
    waker = api.app.extensions[FEED_WAKER_EXTENSION]
    while not waker.listening:  # the request below must rely on the subscription alone
        time.sleep(0.05)

    def commit_later() -> None:
        while not waker.waiting:  # commit only once the request has looked and found nothing
            time.sleep(0.05)
        engine = make_engine(DatabaseSettings(url=api.database_url))
        with make_session_factory(engine, changes_redis_url=redis_url)() as session:
            found = changes.ChangeSet()
            found.add("order", "W-2", "status", {"status": "paid"})
            changes.append(session, found)
            session.commit()
        engine.dispose()

    heard = waker.heard
    writer = threading.Thread(target=commit_later)
    writer.start()
    page = api.get(f"/api/v1/changes?after={head}&wait=5").get_json()
    writer.join()
    assert [(e["kind"], e["id"], e["data"]) for e in page["items"]] == [
        ("order", "W-2", {"status": "paid"})
    ]
    assert waker.heard == heard + 1  # the commit's announcement woke the request


def test_a_position_retention_removed_is_a_410_that_says_to_read_the_catalog_again(
    feed_api: Api,
) -> None:
    positions = [e["position"] for e in all_events(feed_api)]
    engine = make_engine(DatabaseSettings(url=feed_api.database_url))
    with Session(engine) as session:
        later = datetime.now(UTC) + timedelta(days=1)
        removed = changes.prune(session, older_than=later, keep_from=positions[3])
        session.commit()
    engine.dispose()
    assert removed == 3
    gone = feed_api.get("/api/v1/changes?after=1")
    assert gone.status_code == 410
    assert "read the catalog again" in gone.get_json()["error"]["message"]
    kept = feed_api.get(f"/api/v1/changes?after={positions[2]}").get_json()
    assert kept["items"][0]["position"] == positions[3]


# --- media -----------------------------------------------------------------------------------


@pytest.fixture
def media_api(feed_api: Api) -> tuple[Api, str]:
    settings = feed_api.app.extensions["onec_sync_settings"]
    blob = MediaStore(settings.paths.media_dir).put_stream(io.BytesIO(JPEG))
    engine = make_engine(settings.database)
    with Session(engine) as session:
        session.add(
            MediaFile(
                path="import_files/ab/x.jpg",
                sha256=blob.sha256,
                size=blob.size,
                content_type="image/jpeg",
            )
        )
        session.commit()
    engine.dispose()
    return feed_api, blob.sha256


def test_an_image_is_served_with_its_type_etag_and_immutable_caching(
    media_api: tuple[Api, str],
) -> None:
    api, sha = media_api
    assert sha == hashlib.sha256(JPEG).hexdigest()
    response = api.get(f"/api/v1/media/{sha}")
    assert response.status_code == 200
    assert response.data == JPEG
    assert response.mimetype == "image/jpeg"
    assert response.headers["ETag"] == f'"{sha}"'
    assert "immutable" in response.headers["Cache-Control"]
    same = api.get(f"/api/v1/media/{sha}", headers={"If-None-Match": f'"{sha}"'})
    assert same.status_code == 304
    part = api.get(f"/api/v1/media/{sha}", headers={"Range": "bytes=4-9"})
    assert part.status_code == 206
    assert part.data == JPEG[4:10]
    assert part.headers["Content-Range"] == f"bytes 4-9/{len(JPEG)}"


@pytest.mark.parametrize(
    "name", ["0" * 64, "..%2F..%2Fetc%2Fpasswd", "ABCDEF" + "0" * 58, "x", "0" * 65]
)
def test_unknown_or_malformed_hashes_are_404s_without_a_path(
    media_api: tuple[Api, str], name: str
) -> None:
    api, _ = media_api
    response = api.get(f"/api/v1/media/{name}")
    assert response.status_code == 404
    assert "/" not in response.get_json()["error"]["message"]


def test_nginx_can_serve_the_bytes_through_x_accel_redirect(
    media_api: tuple[Api, str], app_factory: Callable[..., Flask]
) -> None:
    api, sha = media_api
    settings = api.app.extensions["onec_sync_settings"]
    app = app_factory(with_storefront(settings, media_accel_prefix="/_media/"))
    response = app.test_client().get(
        f"/api/v1/media/{sha}", headers={"X-API-Key": api.keys["shop"]}
    )
    assert response.status_code == 200
    assert response.headers["X-Accel-Redirect"] == f"/_media/{sha[:2]}/{sha}"
    assert response.data == b""


# --- schemathesis over the feed and media ---------------------------------------------------

schema = schemathesis.openapi.from_dict(document())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
schema.config.update(base_url="http://localhost/api/v1")
FEED_IDS = {op.operation_id for op in CHANGE_FEED_OPERATIONS}


@schema.include(operation_id=list(FEED_IDS)).parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_feed_and_media_match_the_document_and_nothing_is_a_5xx(
    case: Any, media_api: tuple[Api, str]
) -> None:
    api, _ = media_api
    if case.query and _number(case.query.get("wait")):
        case.query["wait"] = min(float(case.query["wait"]), 0.2)  # keep each case short
    case.operation.schema.app = api.app
    case.call_and_validate(
        app=api.app,
        headers={"X-API-Key": api.keys["admin"], "Accept-Encoding": "identity"},
        excluded_checks=[positive_data_acceptance],
    )


def _number(value: Any) -> bool:
    try:
        return float(value) >= 0
    except (TypeError, ValueError):
        return False


def test_a_single_sync_worker_never_parks_on_a_long_poll(
    feed_api: Api, app_factory: Callable[..., Flask]
) -> None:
    """With one worker of one thread, a long-poll would hold the host's only request slot for
    its whole wait: it is answered at once instead, and told when to ask again."""
    base = feed_api.app.extensions["onec_sync_settings"]
    lone = dataclasses.replace(
        base.storefront, workers=1, threads=1, listen=f"127.0.0.1:{uuid.uuid4().hex}"
    )
    api = Api(
        app_factory(dataclasses.replace(base, storefront=lone)),
        feed_api.keys,
        feed_api.database_url,
    )
    head = api.get("/api/v1/changes?limit=1").get_json()["head"]
    answered = api.get(f"/api/v1/changes?after={head}&wait=5")
    assert answered.status_code == 200
    assert answered.get_json() == {"items": [], "next_after": head, "head": head}
    assert answered.headers["Retry-After"] == "1"
    # Events there are come back at once, with nothing to wait for.
    listed = api.get("/api/v1/changes?after=0&limit=2&wait=5")
    assert len(listed.get_json()["items"]) == 2
    assert "Retry-After" not in listed.headers
