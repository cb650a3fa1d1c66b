"""The console through Flask's test client: login and its cookie, every page, every action,
roles, CSRF, and what a lying request gets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import Settings
from syncd.importer.hiding import held_runs
from syncd.store import models
from tests.console.conftest import (
    PASSWORD,
    audit_entries,
    csrf_token,
    failed_package,
    fix_package,
    held_hide,
    log_in,
    order_with_failed_push,
    outbox_state,
    visible_products,
)


def held_runs_now(engine: Engine) -> list[dict[str, object]]:
    with Session(engine) as db:
        return held_runs(db)


PAGES = ("/", "/runs", "/quarantine", "/exchange", "/orders", "/audit")


def test_pages_need_a_login(client: FlaskClient) -> None:
    for page in PAGES:
        reply = client.get(page)
        assert reply.status_code == 302
        assert reply.headers["Location"].startswith("/login")


def test_a_wrong_password_is_refused_and_shows_no_page(client: FlaskClient) -> None:
    token = csrf_token(client)
    reply = client.post(
        "/login", data={"username": "alice", "password": "wrong password", "csrf_token": token}
    )
    assert reply.status_code == 401
    assert "Wrong username or password" in reply.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_cookie_copied_before_logout_is_refused_after_it(app: Flask, client: FlaskClient) -> None:
    log_in(client, "alice")
    cookie = client.get_cookie("onec_console")
    assert cookie is not None
    stolen = app.test_client()
    stolen.set_cookie("onec_console", cookie.value)
    assert stolen.get("/").status_code == 200  # the copy works while the login lasts

    reply = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert reply.status_code == 302

    assert stolen.get("/").status_code == 302  # back to the login page
    log_in(client, "alice")  # a new login is a new session, not affected
    assert client.get("/").status_code == 200


def test_the_session_cookie_is_httponly_samesite_strict_and_secure_when_configured(
    client: FlaskClient, settings: Settings, db_engine: Engine
) -> None:
    from dataclasses import replace

    from console import create_app

    token = csrf_token(client)
    reply = client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie

    secure = replace(settings, console=replace(settings.console, cookie_secure=True))
    https = create_app(secure, engine=db_engine).test_client()
    page = https.get("/login", base_url="https://console.example").get_data(as_text=True)
    token = re.findall(r'name="csrf_token" value="([^"]+)"', page)[0]
    reply = https.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        base_url="https://console.example",
        headers={"Referer": "https://console.example/login"},
    )
    assert "; Secure" in reply.headers["Set-Cookie"]


def test_a_login_cannot_redirect_to_another_site(client: FlaskClient) -> None:
    token = csrf_token(client)
    reply = client.post(
        "/login?next=//evil.example/x",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
    )
    assert reply.headers["Location"] == "/"


def test_every_page_answers_for_an_operator(
    client: FlaskClient, settings: Settings, db_engine: Engine
) -> None:
    failed_package(settings, db_engine)
    order_with_failed_push(db_engine)
    log_in(client, "oscar")
    for page in PAGES:
        reply = client.get(page)
        assert reply.status_code == 200, page
        assert "<svg" in reply.get_data(as_text=True) or page != "/"
    with Session(db_engine) as db:
        run_uuid = db.scalars(select(models.SyncRun.run_uuid)).first()
    reply = client.get(f"/runs/{run_uuid}")
    assert reply.status_code == 200
    assert "failed" in reply.get_data(as_text=True)


def test_the_overview_shows_a_failed_import_in_a_red_banner_with_its_reason(
    client: FlaskClient, settings: Settings, db_engine: Engine
) -> None:
    package = failed_package(settings, db_engine)
    log_in(client, "oscar")
    page = client.get("/").get_data(as_text=True)
    assert 'id="banner"' in page
    assert "night-export" in page
    detail = client.get(f"/failed/{package.name}").get_data(as_text=True)
    assert "offers.xml" in detail
    assert "line" in detail


def test_retrying_a_fixed_failed_package_imports_it_and_names_the_person(
    client: FlaskClient, settings: Settings, db_engine: Engine
) -> None:
    package = failed_package(settings, db_engine)
    fix_package(package)
    log_in(client, "oscar")
    token = csrf_token(client, f"/failed/{package.name}")

    reply = client.post(f"/failed/{package.name}/retry", data={"csrf_token": token})

    assert reply.status_code == 302
    run_page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "succeeded" in run_page
    assert settings.folder.done_path is not None
    assert [p.name.split("_", 1)[1] for p in settings.folder.done_path.iterdir()] == [
        "night-export"
    ]
    with Session(db_engine) as db:
        assert db.scalar(select(models.Product.id).limit(1)) is not None
    assert ("console.retry", "oscar") in audit_entries(db_engine)
    assert ("import.run", "oscar") in audit_entries(db_engine, "import.run")


def test_a_retry_of_a_package_already_retried_is_not_found(
    client: FlaskClient, settings: Settings, db_engine: Engine
) -> None:
    package = failed_package(settings, db_engine)
    fix_package(package)
    log_in(client, "oscar")
    token = csrf_token(client, f"/failed/{package.name}")
    client.post(f"/failed/{package.name}/retry", data={"csrf_token": token})
    again = client.post(f"/failed/{package.name}/retry", data={"csrf_token": token})
    assert again.status_code == 404


@pytest.mark.parametrize(
    "name",
    ["..", "../inbox", "..%2Fdone", ".onec-sync", "x.reason.txt", "nope", "n" * 300, "a%00b"],
)
def test_a_name_outside_the_failed_and_quarantine_folders_is_not_found(
    client: FlaskClient, settings: Settings, db_engine: Engine, name: str
) -> None:
    failed_package(settings, db_engine)
    log_in(client, "oscar")
    token = csrf_token(client, "/quarantine")
    for path in (f"/failed/{name}", f"/quarantine/{name}", f"/quarantine/{name}/download"):
        assert client.get(path).status_code == 404, path
    reply = client.post(f"/failed/{name}/retry", data={"csrf_token": token})
    assert reply.status_code == 404


def test_a_quarantined_file_can_be_downloaded_as_it_was_kept(
    client: FlaskClient, settings: Settings, db_engine: Engine
) -> None:
    failed_package(settings, db_engine)
    [kept] = [
        p for p in settings.paths.quarantine_dir.iterdir() if not p.name.endswith(".reason.txt")
    ]
    log_in(client, "oscar")
    page = client.get("/quarantine").get_data(as_text=True)
    assert "offers.xml" in page
    reply = client.get(f"/quarantine/{kept.name}/download")
    assert reply.status_code == 200
    assert reply.data == kept.read_bytes()
    assert "attachment" in reply.headers["Content-Disposition"]


def test_an_admin_resends_a_failed_order_and_the_audit_log_names_them(
    client: FlaskClient, db_engine: Engine
) -> None:
    order_with_failed_push(db_engine)
    log_in(client, "alice")
    token = csrf_token(client, "/orders")

    reply = client.post("/orders/S-1001/resend", data={"csrf_token": token})

    assert reply.status_code == 302
    assert outbox_state(db_engine) == "pending"
    assert ("console.order.resend", "alice") in audit_entries(db_engine)
    audit_page = client.get("/audit").get_data(as_text=True)
    assert "console.order.resend" in audit_page
    assert "alice" in audit_page
    again = client.post("/orders/S-1001/resend", data={"csrf_token": token})
    assert again.status_code == 400  # already queued: nothing to re-send


@pytest.mark.parametrize(
    "action",
    [
        "/orders/S-1001/resend",
        "/jobs/housekeeping/run",
        "/jobs/folder_scan/run",
        "/runs/{held}/confirm-hide",
        "/runs/{held}/reject-hide",
    ],
)
def test_an_operator_cannot_perform_an_admin_action_by_direct_post(
    client: FlaskClient,
    settings: Settings,
    db_engine: Engine,
    tmp_path: Path,
    action: str,
) -> None:
    order_with_failed_push(db_engine)
    held = held_hide(settings, db_engine, tmp_path)
    log_in(client, "oscar")
    token = csrf_token(client, "/orders")

    reply = client.post(action.format(held=held), data={"csrf_token": token})

    assert reply.status_code == 403
    assert outbox_state(db_engine) == "failed"
    assert visible_products(db_engine) == 100
    assert f"held-{held}" in client.get("/").get_data(as_text=True)  # still held
    assert [a for a in audit_entries(db_engine) if a[0] != "console.login"] == []
    assert "resend-S-1001" not in client.get("/orders").get_data(as_text=True)


def test_an_admin_runs_a_job_now_and_it_is_audited(
    client: FlaskClient, settings: Settings, db_engine: Engine
) -> None:
    log_in(client, "alice")
    token = csrf_token(client, "/")
    reply = client.post("/jobs/housekeeping/run", data={"csrf_token": token})
    assert reply.status_code == 302
    assert ("console.job", "alice") in audit_entries(db_engine)
    assert client.post("/jobs/nope/run", data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize(
    "action",
    [
        "/orders/S-1001/resend",
        "/jobs/housekeeping/run",
        "/failed/{package}/retry",
        "/quarantine/{kept}/retry",
        "/audit/verify",
        "/logout",
        "/runs/{held}/confirm-hide",
        "/runs/{held}/reject-hide",
    ],
)
@pytest.mark.parametrize("token", ["", "forged-token", "other-session"])
def test_every_action_without_a_valid_csrf_token_is_refused(
    client: FlaskClient,
    settings: Settings,
    db_engine: Engine,
    tmp_path: Path,
    action: str,
    token: str,
) -> None:
    package = failed_package(settings, db_engine)
    fix_package(package)
    order_with_failed_push(db_engine)
    held = held_hide(settings, db_engine, tmp_path / "held")
    if token == "other-session":
        from console import create_app

        other = create_app(settings, engine=db_engine).test_client()
        token = csrf_token(other)
    log_in(client, "alice")

    [kept] = [
        p for p in settings.paths.quarantine_dir.iterdir() if not p.name.endswith(".reason.txt")
    ]
    path = action.format(package=package.name, kept=kept.name, held=held)

    reply = client.post(path, data={"csrf_token": token})

    assert reply.status_code == 400
    assert "CSRF" in reply.get_data(as_text=True)
    assert outbox_state(db_engine) == "failed"
    assert package.exists()
    assert visible_products(db_engine) == 100
    assert held in [h["run_uuid"] for h in held_runs_now(db_engine)]
    assert [a for a in audit_entries(db_engine) if a[0] != "console.login"] == []


def test_a_deactivated_user_is_logged_out_on_the_next_click(
    client: FlaskClient, db_engine: Engine
) -> None:
    log_in(client, "oscar")
    assert client.get("/").status_code == 200
    with Session(db_engine) as db:
        user = db.scalars(select(models.User).where(models.User.username == "oscar")).one()
        user.is_active = False
        db.commit()
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    "query",
    [
        "/runs?status=bogus",
        "/runs?before=-1",
        "/runs?before=1e9",
        "/audit?before=x",
        "/runs?stream=" + "s" * 200,
    ],
)
def test_bad_filters_get_a_400_naming_the_problem(client: FlaskClient, query: str) -> None:
    log_in(client, "oscar")
    reply = client.get(query)
    assert reply.status_code == 400
    assert re.search(r"status|before|stream", reply.get_data(as_text=True))


def test_verifying_the_audit_chain_shows_its_result(
    client: FlaskClient, settings: Settings, db_engine: Engine
) -> None:
    failed_package(settings, db_engine)
    log_in(client, "oscar")
    token = csrf_token(client, "/audit")
    page = client.post("/audit/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert "Audit log intact" in page


def test_repeated_wrong_passwords_are_throttled_even_with_the_right_one_after(
    settings: Settings, db_engine: Engine
) -> None:
    from dataclasses import replace

    from console import create_app

    strict = replace(settings, console=replace(settings.console, login_rate_limit="3/minute"))
    client = create_app(strict, engine=db_engine).test_client()
    token = csrf_token(client)
    for _ in range(3):
        wrong = {"username": "alice", "password": "guess", "csrf_token": token}
        assert client.post("/login", data=wrong).status_code == 401
    right = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    reply = client.post("/login", data=right)
    assert reply.status_code == 429
    assert int(reply.headers["Retry-After"]) > 0
    assert client.get("/").status_code == 302  # still not logged in


def test_a_database_that_cannot_be_reached_gets_a_503_page_not_a_traceback(
    settings: Settings,
) -> None:
    from dataclasses import replace

    from config import DatabaseSettings
    from console import create_app

    down = replace(
        settings,
        database=DatabaseSettings(
            url="postgresql+psycopg://127.0.0.1:1/nothing", connect_timeout_seconds=1
        ),
    )
    client = create_app(down).test_client()
    token = csrf_token(client)
    reply = client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code == 503
    page = reply.get_data(as_text=True)
    assert "database cannot be reached" in page
    assert "Traceback" not in page


def test_retrying_a_quarantined_file_that_is_still_broken_records_a_failed_run_by_the_person(
    client: FlaskClient, settings: Settings, db_engine: Engine
) -> None:
    failed_package(settings, db_engine)
    [kept] = [
        p for p in settings.paths.quarantine_dir.iterdir() if not p.name.endswith(".reason.txt")
    ]
    original = kept.read_bytes()
    log_in(client, "oscar")
    token = csrf_token(client, f"/quarantine/{kept.name}")

    reply = client.post(f"/quarantine/{kept.name}/retry", data={"csrf_token": token})

    assert reply.status_code == 302
    run_page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "failed" in run_page
    assert "oscar" in run_page
    assert kept.read_bytes() == original  # the quarantined original is kept as it was
    assert ("console.retry", "oscar") in audit_entries(db_engine)
    with Session(db_engine) as db:
        outcome = db.scalars(
            select(models.AuditEntry.outcome)
            .where(models.AuditEntry.action == "console.retry")
            .order_by(models.AuditEntry.id.desc())
        ).first()
    assert outcome == "failed"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/runs/abc%00def", 404),
        ("get", "/runs?stream=a%00b", 400),
        ("get", "/audit?actor=a%00b", 400),
        ("get", "/audit?action=%01", 400),
        ("post", "/orders/S%00-1/resend", 404),
    ],
)
def test_control_characters_in_a_request_get_a_4xx_not_a_database_error(
    client: FlaskClient, db_engine: Engine, method: str, path: str, status: int
) -> None:
    log_in(client, "alice")
    token = csrf_token(client, "/orders")
    reply = getattr(client, method)(path, data={"csrf_token": token})
    assert reply.status_code == status


def test_a_username_with_a_nul_byte_is_a_wrong_login_not_a_database_error(
    client: FlaskClient,
) -> None:
    token = csrf_token(client)
    reply = client.post(
        "/login", data={"username": "ali\x00ce", "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code == 401


# --- held hides ------------------------------------------------------------------------------


def test_an_operator_sees_a_held_hide_in_the_red_banner_and_on_its_run_but_no_buttons(
    client: FlaskClient, settings: Settings, db_engine: Engine, tmp_path: Path
) -> None:
    run_uuid = held_hide(settings, db_engine, tmp_path)
    log_in(client, "oscar")

    page = client.get("/").get_data(as_text=True)
    banner = page.split('id="banner"', 1)[1].split("</div>", 1)[0]
    assert "Hiding held" in banner
    assert run_uuid in banner
    assert "90 of 100 products" in banner
    assert f'id="held-{run_uuid}"' in page
    assert f"confirm-hide-{run_uuid}" not in page
    assert f"reject-hide-{run_uuid}" not in page

    run_page = client.get(f"/runs/{run_uuid}").get_data(as_text=True)
    assert "Hiding held" in run_page
    assert "90 of 100 products" in run_page
    assert f"confirm-hide-{run_uuid}" not in run_page


def test_an_admin_confirms_a_held_hide_the_products_are_hidden_and_the_audit_names_them(
    client: FlaskClient, settings: Settings, db_engine: Engine, tmp_path: Path
) -> None:
    run_uuid = held_hide(settings, db_engine, tmp_path)
    log_in(client, "alice")
    page = client.get("/").get_data(as_text=True)
    assert f'id="confirm-hide-{run_uuid}"' in page
    token = csrf_token(client, "/")

    reply = client.post(f"/runs/{run_uuid}/confirm-hide", data={"csrf_token": token})

    assert reply.status_code == 302
    assert reply.headers["Location"] == f"/runs/{run_uuid}"
    run_page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "hiding confirmed" in run_page
    assert "90 products" in run_page
    assert "Hiding held" not in run_page
    assert visible_products(db_engine) == 10
    with Session(db_engine) as db:  # the shop's change feed hears of each hidden product
        hidden_events = db.scalars(
            select(models.ChangeEvent.resource_id).where(
                models.ChangeEvent.kind == "product", models.ChangeEvent.action == "hidden"
            )
        ).all()
    assert len(hidden_events) == 90
    assert ("import.hide_confirmed", "alice") in audit_entries(db_engine, "import.hide")
    assert ("console.hide.confirm", "alice") in audit_entries(db_engine)
    assert "Hiding held" not in client.get("/").get_data(as_text=True)

    again = client.post(f"/runs/{run_uuid}/confirm-hide", data={"csrf_token": token})
    assert again.status_code == 409
    assert "confirmed or rejected already" in again.get_data(as_text=True)
    assert visible_products(db_engine) == 10


def test_an_admin_rejects_a_held_hide_and_nothing_is_hidden(
    client: FlaskClient, settings: Settings, db_engine: Engine, tmp_path: Path
) -> None:
    run_uuid = held_hide(settings, db_engine, tmp_path)
    log_in(client, "alice")
    token = csrf_token(client, f"/runs/{run_uuid}")

    reply = client.post(f"/runs/{run_uuid}/reject-hide", data={"csrf_token": token})

    assert reply.status_code == 302
    assert "nothing was hidden" in client.get(reply.headers["Location"]).get_data(as_text=True)
    assert visible_products(db_engine) == 100
    assert ("import.hide_rejected", "alice") in audit_entries(db_engine, "import.hide")
    assert ("console.hide.reject", "alice") in audit_entries(db_engine)
    assert held_runs_now(db_engine) == []
    late = client.post(f"/runs/{run_uuid}/confirm-hide", data={"csrf_token": token})
    assert late.status_code == 409
    assert visible_products(db_engine) == 100


def test_a_held_hide_made_out_of_date_by_a_later_import_cannot_be_confirmed_only_rejected(
    client: FlaskClient, settings: Settings, db_engine: Engine, tmp_path: Path
) -> None:
    from syncd.importer.pipeline import import_files
    from tests.cml_builder import catalog, write_package

    run_uuid = held_hide(settings, db_engine, tmp_path)
    import_files(db_engine, write_package(tmp_path / "again", catalog(100)), settings)
    log_in(client, "alice")
    run_page = client.get(f"/runs/{run_uuid}").get_data(as_text=True)
    assert "out of date" in run_page
    assert f"confirm-hide-{run_uuid}" not in run_page
    token = csrf_token(client, f"/runs/{run_uuid}")

    reply = client.post(f"/runs/{run_uuid}/confirm-hide", data={"csrf_token": token})

    assert reply.status_code == 409
    assert "out of date" in reply.get_data(as_text=True)
    assert visible_products(db_engine) == 100
    assert ("console.hide.confirm", "alice") in audit_entries(db_engine)  # the refusal
    rejected = client.post(f"/runs/{run_uuid}/reject-hide", data={"csrf_token": token})
    assert rejected.status_code == 302
    assert held_runs_now(db_engine) == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/runs/00000000-0000-0000-0000-000000000000/confirm-hide", 404),
        ("/runs/00000000-0000-0000-0000-000000000000/reject-hide", 404),
        ("/runs/a%00b/confirm-hide", 404),
        ("/runs/" + "x" * 300 + "/reject-hide", 404),
        ("/runs/{succeeded}/confirm-hide", 409),
    ],
)
def test_deciding_a_hide_of_a_run_that_holds_none_is_refused_with_a_4xx(
    client: FlaskClient,
    settings: Settings,
    db_engine: Engine,
    tmp_path: Path,
    path: str,
    status: int,
) -> None:
    from syncd.importer.pipeline import import_files
    from tests.cml_builder import catalog, write_package

    done = import_files(db_engine, write_package(tmp_path / "all", catalog(30)), settings)
    log_in(client, "alice")
    token = csrf_token(client, "/")

    reply = client.post(path.format(succeeded=done.run_uuid), data={"csrf_token": token})

    assert reply.status_code == status
    assert visible_products(db_engine) == 30


def test_deciding_a_hide_while_an_import_holds_the_catalog_is_a_409_and_changes_nothing(
    client: FlaskClient, settings: Settings, db_engine: Engine, tmp_path: Path
) -> None:
    from syncd.store.locks import CATALOG_LOCK, named_lock

    run_uuid = held_hide(settings, db_engine, tmp_path)
    log_in(client, "alice")
    token = csrf_token(client, "/")

    with named_lock(db_engine, CATALOG_LOCK):
        confirm = client.post(f"/runs/{run_uuid}/confirm-hide", data={"csrf_token": token})
        reject = client.post(f"/runs/{run_uuid}/reject-hide", data={"csrf_token": token})

    for reply in (confirm, reject):
        assert reply.status_code == 409
        assert "an import holds the catalog" in reply.get_data(as_text=True)
    assert visible_products(db_engine) == 100
    assert [h["run_uuid"] for h in held_runs_now(db_engine)] == [run_uuid]
