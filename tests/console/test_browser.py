"""The console in a real browser (headless Chromium): what an operator and an admin do.

Screenshots of the overview and of a run's detail are written under the test's tmp dir
(``<pytest tmp>/.../screenshots/``) for a person to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from config import Settings
from tests.console.conftest import (
    PASSWORD,
    audit_entries,
    failed_package,
    fix_package,
    held_hide,
    order_with_failed_push,
    outbox_state,
    visible_products,
)

# A real browser on a loaded machine: a run may lose a race with Chromium's navigation (a node
# of the page being left); such a test is run again, at most twice, and must then pass.
pytestmark = [pytest.mark.slow, pytest.mark.flaky(reruns=2)]


def by_id(browser: Any, element_id: str) -> Any:
    """The element once the page that shows it has loaded (a click's navigation may still be
    under way: an element found on a page being left is not in any document a moment later)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    def settled(driver: Any) -> Any:
        try:
            if driver.execute_script("return document.readyState") != "complete":
                return False
            element = driver.find_element(By.ID, element_id)
            element.is_displayed()  # touches the node: fails if its document is going away
        except WebDriverException:
            return False
        return element

    return WebDriverWait(browser, 30).until(settled)


def text_of(browser: Any, element_id: str) -> str:
    """The element's text, read again if the page was replaced between finding and reading."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    def read(driver: Any) -> str | bool:
        try:
            return str(by_id(driver, element_id).text)
        except WebDriverException:
            return False

    text: str = WebDriverWait(browser, 30).until(read)
    return text


def click_and_wait(browser: Any, element: Any) -> None:
    """Click, then wait until the browser has left the page the element was on."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    element.click()
    WebDriverWait(browser, 120).until(expected_conditions.staleness_of(element))
    WebDriverWait(browser, 120).until(_loaded)  # the next page, not one still arriving


def _loaded(driver: Any) -> bool:
    from selenium.common.exceptions import WebDriverException

    try:
        return bool(driver.execute_script("return document.readyState") == "complete")
    except WebDriverException:  # between two documents
        return False


def log_in(browser: Any, base: str, username: str) -> None:
    browser.get(f"{base}/login")
    by_id(browser, "username").send_keys(username)
    by_id(browser, "password").send_keys(PASSWORD)
    click_and_wait(browser, by_id(browser, "login"))
    assert username in text_of(browser, "who")


def test_an_operator_sees_a_failed_import_reads_why_retries_it_fixed_and_watches_it_succeed(
    browser: Any,
    live_console: str,
    settings: Settings,
    db_engine: Engine,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    shots = tmp_path / "screenshots"
    shots.mkdir()
    package = failed_package(settings, db_engine)
    log_in(browser, live_console, "oscar")

    assert "failed package" in text_of(browser, "banner")
    browser.save_screenshot(str(shots / "overview.png"))
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "night-export"))
    reason = text_of(browser, "reason")
    assert "offers.xml" in reason
    assert "line" in reason

    fix_package(package)
    click_and_wait(browser, by_id(browser, "retry"))

    assert "succeeded" in text_of(browser, "run-status")
    browser.save_screenshot(str(shots / "run.png"))
    browser.get(f"{live_console}/")
    assert not browser.find_elements(By.ID, "banner") or "failed package" not in (
        text_of(browser, "banner")
    )
    browser.get(f"{live_console}/audit")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.audit tr")]
    assert any("console.retry" in r and "oscar" in r for r in rows)
    assert ("console.retry", "oscar") in audit_entries(db_engine)
    assert (shots / "overview.png").stat().st_size > 0
    assert (shots / "run.png").stat().st_size > 0


def test_an_admin_resends_an_order_and_the_audit_log_names_them(
    browser: Any, live_console: str, db_engine: Engine
) -> None:
    from selenium.webdriver.common.by import By

    order_with_failed_push(db_engine)
    log_in(browser, live_console, "alice")
    browser.get(f"{live_console}/orders")
    assert "the warehouse is closed" in text_of(browser, "order-S-1001")

    click_and_wait(browser, by_id(browser, "resend-S-1001"))

    assert "queued for the next order push" in browser.find_element(By.CLASS_NAME, "flash").text
    assert outbox_state(db_engine) == "pending"
    browser.get(f"{live_console}/audit")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.audit tr")]
    assert any("console.order.resend" in r and "alice" in r for r in rows)


def test_an_operator_is_offered_no_admin_action_and_a_forged_one_is_refused(
    browser: Any, live_console: str, db_engine: Engine
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    order_with_failed_push(db_engine)
    log_in(browser, live_console, "oscar")
    browser.get(f"{live_console}/orders")
    assert browser.find_elements(By.ID, "resend-S-1001") == []
    token = browser.find_element(By.NAME, "csrf_token").get_attribute("value")

    # The operator builds the admin's form by hand, with their own valid CSRF token.
    page = browser.find_element(By.TAG_NAME, "html")
    browser.execute_script(
        "const f = document.createElement('form'); f.method = 'post';"
        "f.action = '/orders/S-1001/resend';"
        "const t = document.createElement('input'); t.name = 'csrf_token'; t.value = arguments[0];"
        "f.appendChild(t); document.body.appendChild(f); f.submit();",
        token,
    )
    WebDriverWait(browser, 30).until(expected_conditions.staleness_of(page))

    assert "admin role" in text_of(browser, "error")
    assert outbox_state(db_engine) == "failed"
    assert [a for a in audit_entries(db_engine) if a[0] != "console.login"] == []


def test_every_page_fits_a_phone_screen_without_sideways_scrolling(
    browser: Any, live_console: str, settings: Settings, db_engine: Engine, tmp_path: Path
) -> None:
    failed_package(settings, db_engine)
    order_with_failed_push(db_engine)
    held = held_hide(settings, db_engine, tmp_path)
    browser.set_window_size(390, 844)
    log_in(browser, live_console, "alice")
    width = browser.execute_script("return window.innerWidth")
    assert width <= 400
    pages = ("/", "/runs", "/quarantine", "/exchange", "/orders", "/audit", f"/runs/{held}")
    for page in pages:
        browser.get(f"{live_console}{page}")
        page_width = browser.execute_script("return document.documentElement.scrollWidth")
        assert page_width <= width, f"{page} is {page_width}px wide on a {width}px screen"


def test_an_admin_confirms_a_held_hide_and_the_audit_log_names_them(
    browser: Any, live_console: str, settings: Settings, db_engine: Engine, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    shots = tmp_path / "screenshots"
    shots.mkdir()
    run_uuid = held_hide(settings, db_engine, tmp_path)
    log_in(browser, live_console, "alice")

    banner = text_of(browser, "banner")
    browser.save_screenshot(str(shots / "overview-held-hide.png"))
    assert "Hiding held" in banner
    assert "90 of 100 products" in banner
    assert "90 of 100 products" in by_id(browser, f"held-{run_uuid}").text
    assert visible_products(db_engine) == 100

    click_and_wait(browser, by_id(browser, f"confirm-hide-{run_uuid}"))

    assert "hiding confirmed" in browser.find_element(By.CLASS_NAME, "flash").text
    assert browser.find_elements(By.ID, "held") == []
    assert visible_products(db_engine) == 10
    browser.get(f"{live_console}/audit")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.audit tr")]
    assert any("import.hide_confirmed" in r and "alice" in r for r in rows)
    assert any("console.hide.confirm" in r and "alice" in r for r in rows)
    browser.get(f"{live_console}/")
    assert browser.find_elements(By.ID, f"held-{run_uuid}") == []


def test_an_admin_rejects_a_held_hide_from_its_run_and_nothing_is_hidden(
    browser: Any, live_console: str, settings: Settings, db_engine: Engine, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    run_uuid = held_hide(settings, db_engine, tmp_path)
    log_in(browser, live_console, "alice")
    browser.get(f"{live_console}/runs/{run_uuid}")
    assert "90 of 100 products" in text_of(browser, "held")

    click_and_wait(browser, by_id(browser, f"reject-hide-{run_uuid}"))

    assert "nothing was hidden" in browser.find_element(By.CLASS_NAME, "flash").text
    assert visible_products(db_engine) == 100
    browser.get(f"{live_console}/audit")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.audit tr")]
    assert any("import.hide_rejected" in r and "alice" in r for r in rows)


def test_an_operator_sees_a_held_hide_but_no_buttons_and_a_forged_confirm_is_refused(
    browser: Any, live_console: str, settings: Settings, db_engine: Engine, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    run_uuid = held_hide(settings, db_engine, tmp_path)
    log_in(browser, live_console, "oscar")
    assert "90 of 100 products" in by_id(browser, f"held-{run_uuid}").text
    assert browser.find_elements(By.ID, f"confirm-hide-{run_uuid}") == []
    assert browser.find_elements(By.ID, f"reject-hide-{run_uuid}") == []
    token = browser.find_element(By.NAME, "csrf_token").get_attribute("value")

    page = browser.find_element(By.TAG_NAME, "html")
    browser.execute_script(
        "const f = document.createElement('form'); f.method = 'post';"
        "f.action = arguments[1];"
        "const t = document.createElement('input'); t.name = 'csrf_token'; t.value = arguments[0];"
        "f.appendChild(t); document.body.appendChild(f); f.submit();",
        token,
        f"/runs/{run_uuid}/confirm-hide",
    )
    WebDriverWait(browser, 30).until(expected_conditions.staleness_of(page))

    assert "admin role" in text_of(browser, "error")
    assert visible_products(db_engine) == 100
