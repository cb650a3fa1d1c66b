"""The OData client on the wire: URLs, credentials, paging and the retry policy."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
import respx

from syncd.odata.client import ODataClient
from syncd.odata.errors import BusinessError, Unavailable
from syncd.odata.retry import Stopped
from tests.odata.conftest import odata_settings
from tests.odata.fake1c import BASE, odata_error

ENTITY = f"{BASE}/Catalog_Номенклатура"


def page(n: int, start: int = 0) -> httpx.Response:
    rows = [{"Ref_Key": f"00000000-0000-0000-0000-{start + i:012d}"} for i in range(n)]
    return httpx.Response(200, json={"value": rows})


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def test_cyrillic_names_and_spaces_are_percent_encoded_and_credentials_are_utf8(
    router: respx.MockRouter,
) -> None:
    route = router.get(ENTITY).mock(return_value=page(1))
    with ODataClient(odata_settings()) as client:
        client.rows(
            "Catalog_Номенклатура", [("$filter", "Артикул eq 'O''Neil' and IsFolder eq false")]
        )
    request = route.calls.last.request
    raw = request.url.raw_path.decode()
    assert raw.startswith("/ut11/odata/standard.odata/Catalog_%D0%9D%D0%BE%D0%BC")
    assert "$format=json" in raw
    assert "$filter=%D0%90%D1%80%D1%82%D0%B8%D0%BA%D1%83%D0%BB%20eq%20'O''Neil'%20and" in raw
    assert "+" not in raw
    assert request.url.params["$filter"] == "Артикул eq 'O''Neil' and IsFolder eq false"
    assert request.headers["Accept"] == "application/json"
    user_pass = base64.b64decode(request.headers["Authorization"].removeprefix("Basic "))
    assert user_pass.decode("utf-8") == "Обмен:пароль"


def test_pages_follow_top_and_skip_until_a_short_page(router: respx.MockRouter) -> None:
    route = router.get(ENTITY).mock(side_effect=[page(3), page(3, 3), page(1, 6)])
    with ODataClient(odata_settings(page_size=3)) as client:
        pages = list(client.pages("Catalog_Номенклатура", select=["Ref_Key"], orderby="Ref_Key"))
    assert [(p.skip, len(p.rows), p.last) for p in pages] == [
        (0, 3, False),
        (3, 3, False),
        (6, 1, True),
    ]
    skips = [call.request.url.params["$skip"] for call in route.calls]
    assert skips == ["0", "3", "6"]
    assert {call.request.url.params["$top"] for call in route.calls} == {"3"}
    assert {call.request.url.params["$orderby"] for call in route.calls} == {"Ref_Key"}


def test_transient_failures_are_retried_until_success(router: respx.MockRouter) -> None:
    route = router.get(ENTITY).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, text="<html><title>Обслуживание</title></html>"),
            odata_error(500, "-1", "Не обнаружено свободной лицензии"),
            httpx.ReadTimeout("timed out"),
            page(2),
        ]
    )
    with ODataClient(odata_settings()) as client:
        rows = client.rows("Catalog_Номенклатура")
    assert len(rows) == 2
    assert route.call_count == 5


def test_a_business_error_is_not_retried(router: respx.MockRouter) -> None:
    route = router.get(ENTITY).mock(return_value=odata_error(500, "-1", "Недостаточно прав"))
    with (
        ODataClient(odata_settings()) as client,
        pytest.raises(BusinessError, match="Недостаточно прав"),
    ):
        client.rows("Catalog_Номенклатура")
    assert route.call_count == 1


def test_retries_stop_after_max_attempts_with_the_last_error(router: respx.MockRouter) -> None:
    route = router.get(ENTITY).mock(return_value=httpx.Response(503, text="down"))
    with (
        ODataClient(odata_settings(max_attempts=3)) as client,
        pytest.raises(Unavailable, match="down"),
    ):
        client.rows("Catalog_Номенклатура")
    assert route.call_count == 3


def test_a_create_is_never_retried_by_the_client(router: respx.MockRouter) -> None:
    route = router.post(f"{BASE}/Document_ЗаказКлиента").mock(side_effect=httpx.ReadTimeout("lost"))
    with ODataClient(odata_settings()) as client, pytest.raises(Unavailable):
        client.create("Document_ЗаказКлиента", {"НомерПоДаннымКлиента": "SITE-1"})
    assert route.call_count == 1


def test_a_stop_request_cuts_a_wait_between_attempts_short(router: respx.MockRouter) -> None:
    router.get(ENTITY).mock(return_value=httpx.Response(503))
    settings = odata_settings(backoff_initial_seconds=30.0, backoff_max_seconds=60.0)
    with ODataClient(settings, should_stop=lambda: True) as client, pytest.raises(Stopped):
        client.rows("Catalog_Номенклатура")
