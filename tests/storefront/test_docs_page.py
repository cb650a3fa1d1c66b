"""The docs page renders the OpenAPI 3.1 document in a real browser, from the app alone."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from storefront.openapi import OPERATIONS, document
from tests.browser import browser  # noqa: F401  (the fixture)
from tests.storefront.conftest import make_settings


@pytest.fixture
def served_api(fresh_sqlite_url: str, app_factory: Callable[..., Flask]) -> Iterator[str]:
    """The storefront app on a real HTTP server on loopback; yields its base URL."""
    from config import DatabaseSettings
    from syncd.store import migrate
    from syncd.store.engine import make_engine

    migrate.upgrade(make_engine(DatabaseSettings(url=fresh_sqlite_url)))
    server = make_server(
        "127.0.0.1", 0, app_factory(make_settings(fresh_sqlite_url)), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def _rendered_operations(driver: Any) -> set[tuple[str, str]]:
    blocks = driver.find_elements("css selector", ".opblock .opblock-summary")
    found = set()
    for block in blocks:
        method = block.find_element("css selector", ".opblock-summary-method").text
        path = block.find_element("css selector", ".opblock-summary-path").get_attribute(
            "data-path"
        )
        found.add((method.upper(), path))
    return found


def test_the_docs_page_renders_every_operation_of_the_3_1_document(
    served_api: str,
    browser: Any,  # noqa: F811
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    assert document()["openapi"].startswith("3.1")
    expected = {(op.method.upper(), op.path) for op in OPERATIONS}
    browser.get(served_api + "/api/v1/docs")
    # Swagger UI shows ".version-pragma" for a document version it cannot render (4.x and 3.1).
    WebDriverWait(browser, 30).until(
        lambda d: (
            len(d.find_elements("css selector", ".opblock")) >= len(expected)
            or d.find_elements("css selector", ".errors-wrapper, .version-pragma")
        )
    )
    refused = browser.find_elements("css selector", ".errors-wrapper, .version-pragma")
    assert not refused, refused[0].text
    assert _rendered_operations(browser) == expected
    requested = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert requested
    assert all(url.startswith(served_api) for url in requested)
