"""Every 1C error format becomes one of our errors, by what the caller must do, with 1C's text."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from syncd.odata import errors
from syncd.odata.errors import (
    AccessDenied,
    AlreadyExists,
    BusinessError,
    NotFound,
    RequestRejected,
    Unavailable,
    classify,
    from_transport,
)

URL = "https://1c.example.ru/ut11/odata/standard.odata/Catalog_Номенклатура"


def answer(
    status: int, body: object = b"", content_type: str = "application/json"
) -> httpx.Response:
    content = json.dumps(body, ensure_ascii=False).encode() if isinstance(body, dict) else body
    assert isinstance(content, bytes)
    return httpx.Response(
        status, content=content, headers={"Content-Type": content_type},
        request=httpx.Request("GET", URL),
    )  # fmt: skip


def odata(status: int, code: str, text: str) -> httpx.Response:
    return answer(status, {"odata.error": {"code": code, "message": {"lang": "ru", "value": text}}})


MAINTENANCE = {
    "#exception": "{http://v8.1c.ru/8.2/virtual-resource-system}Exception",
    "exception": {
        "reason": 403,
        "descr": "HTTP: Forbidden\nОшибка при выполнении запроса GET к ресурсу /odata/x:",
        "inner": {
            "descr": "Начало сеанса с информационной базой запрещено.\nВедутся технические работы",
            "inner": {"descr": "Ведутся технические работы", "creationStack": "core83.dll:0x1"},
        },
    },
}
APPLICATION_ERROR = (
    b"<html><head><title>1C:Enterprise 8 application error</title></head><body>"
    b"<b>by reason: </b>No space left on device</body></html>"
)
IIS_BAD_URL = (
    b"<html><head><title>Bad Request</title></head><body>Bad Request - Invalid URL</body></html>"
)
LOCK = (
    "Конфликт блокировок при выполнении транзакции:\nПревышено максимальное время ожидания "
    "предоставления блокировки"
)


@pytest.mark.parametrize(
    ("response", "kind", "text"),
    [
        (answer(503, b"Service Unavailable", "text/plain"), Unavailable, "Service Unavailable"),
        (
            answer(502, b"<html><title>502 Bad Gateway</title></html>", "text/html"),
            Unavailable,
            "502 Bad Gateway",
        ),
        (answer(500, APPLICATION_ERROR, "text/html"), Unavailable, "No space left on device"),
        (answer(429, b""), Unavailable, "429"),
        (odata(500, "-1", "Не обнаружено свободной лицензии!"), Unavailable, "свободной лицензии"),
        (odata(500, "-1", LOCK), Unavailable, "Конфликт блокировок"),
        (odata(500, "-1", "Превышено максимальное количество сеансов"), Unavailable, "сеансов"),
        (answer(403, MAINTENANCE), Unavailable, "Начало сеанса с информационной базой запрещено"),
        (odata(500, "-1", 'Не заполнено поле "Соглашение"'), BusinessError, "Соглашение"),
        (
            odata(400, "-1", "Неверные параметры в операции сравнения"),
            BusinessError,
            "Неверные параметры",
        ),
        (odata(400, "4", "Неверное значение свойства"), BusinessError, "Неверное значение"),
        (
            odata(
                500, "-1", "Произошла внутренняя ошибка OData сервиса. Дополнительные сведения..."
            ),
            RequestRejected,
            "внутренняя ошибка",
        ),
        (odata(400, "14", "Error parsing $filter query option"), RequestRejected, "$filter"),
        (
            odata(404, "8", '"CatalogПоставщики" entity is not found'),
            RequestRejected,
            "CatalogПоставщики",
        ),
        (answer(400, IIS_BAD_URL, "text/html"), RequestRejected, "Bad Request"),
        (
            odata(404, "9", "Экземпляр сущности не найден по переданному ключу."),
            NotFound,
            "не найден",
        ),
        (
            odata(400, "15", "Сущность с таким ключом уже существует"),
            AlreadyExists,
            "уже существует",
        ),
        (answer(401, b""), AccessDenied, "401"),
        (odata(403, "20", "Нарушение прав доступа!"), AccessDenied, "прав доступа"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_1c_answers_are_classified_with_their_message(
    response: httpx.Response, kind: type[errors.ODataError], text: str
) -> None:
    error = classify(response)
    assert type(error) is kind
    assert text in error.message
    assert error.status == response.status_code


def test_an_xml_error_with_a_base64_message_is_decoded() -> None:
    encoded = base64.b64encode("Недопустимый символ в строке".encode()).decode()
    body = (
        '<?xml version="1.0"?><m:error xmlns:m="http://schemas.microsoft.com/ado/2007/08/'
        f'dataservices/metadata"><m:code>-1</m:code><m:message xml:lang="ru">{encoded}</m:message>'
        "</m:error>"
    ).encode()
    error = classify(answer(500, body, "application/xml"))
    assert isinstance(error, BusinessError)
    assert error.code == "-1"
    assert error.message == "Недопустимый символ в строке"


def test_retry_after_is_kept_for_the_retry_policy() -> None:
    response = httpx.Response(503, headers={"Retry-After": "30"}, request=httpx.Request("GET", URL))
    error = classify(response)
    assert isinstance(error, Unavailable)
    assert error.retry_after == 30


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ReadTimeout("timed out"), Unavailable),
        (httpx.ConnectError("connection refused"), Unavailable),
        (httpx.RemoteProtocolError("peer closed connection"), Unavailable),
        (httpx.UnsupportedProtocol("ftp"), RequestRejected),
    ],
)
def test_network_failures_are_classified(exc: httpx.HTTPError, kind: type[Exception]) -> None:
    assert type(from_transport(exc, timeout=60)) is kind
