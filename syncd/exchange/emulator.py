"""A 1C emulator: plays 1C's side of the site-exchange protocol, for operators and tests.

It does what the standard 1C client does (PROTOCOL.md §1.2): User-Agent ``1C+Enterprise/8.3``,
HTTP Basic on ``checkauth`` only and the cookie from its reply on every later request, one
session (``checkauth`` -> ``init``) per XML file, the file zipped as ``v8_XXXX_N.zip`` when both
sides agreed on zip, split into ``file_limit``-sized POSTs, then ``mode=import`` repeated for as
long as the site answers ``progress``. The sale exchange follows: ``query``, ``success``, then a
file of order updates made the way 1C makes them (its own number, posted, a status).

``--protocol-version`` plays the 1С-Битрикс module instead: ``version`` on ``init``, all files in
one session, ``deactivate`` and ``complete`` at the end, and ``import`` after a sale ``file``.
"""

from __future__ import annotations

import io
import secrets
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import httpx

from exchange_formats.commerceml import read_orders
from exchange_formats.errors import FormatError

USER_AGENT = "1C+Enterprise/8.3"
_ORDER_FILE_ORDER = ("import", "offers", "prices", "rests", "documents")


class EmulatorError(Exception):
    """The site broke the protocol (not a status keyword, HTTP error, polling never ends)."""


@dataclass(frozen=True, slots=True)
class Options:
    url: str
    user: str
    password: str
    zip: bool = False
    chunk_size: int | None = None  # bytes per POST; never more than the site's file_limit
    protocol_version: str | None = None  # e.g. "2.10": play the 1С-Битрикс module
    timeout_seconds: float = 60.0  # one HTTP request
    import_timeout_seconds: float = 3600.0  # one file's import polling
    basic_on_every_request: bool = False


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request of the exchange and what it took."""

    type: str
    mode: str
    filename: str | None
    status_code: int
    seconds: float
    first_line: str
    reply: str


@dataclass(slots=True)
class Report:
    requests: list[Exchange] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    orders_received: list[str] = field(default_factory=list)  # Номер of each queried order
    orders_xml: bytes | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    def longest(self) -> Exchange | None:
        return max(self.requests, key=lambda r: r.seconds, default=None)


@dataclass(slots=True)
class Reply:
    status_code: int
    body: bytes
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @property
    def status(self) -> str:
        return self.lines[0].strip()


class ExchangeClient:
    """The protocol requests, one method each; ``report`` collects every request made."""

    def __init__(
        self,
        options: Options,
        *,
        report: Report | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.options = options
        self.report = report or Report()
        self._http = httpx.Client(
            timeout=options.timeout_seconds,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )
        self.cookie: tuple[str, str] | None = None
        self.file_limit: int | None = None
        self.zip_agreed = False
        self.version: str | None = None

    def close(self) -> None:
        self._http.close()

    # --- requests ------------------------------------------------------------------------

    def request(
        self,
        type_: str,
        mode: str,
        *,
        filename: str | None = None,
        body: bytes | None = None,
        extra: dict[str, str] | None = None,
        basic: bool | None = None,
    ) -> Reply:
        params = {"type": type_, "mode": mode, **(extra or {})}
        if filename is not None:
            params["filename"] = filename
        headers = {}
        if self.cookie is not None and mode != "checkauth":
            headers["Cookie"] = f"{self.cookie[0]}={self.cookie[1]}"
        use_basic = (
            basic
            if basic is not None
            else (mode == "checkauth" or self.options.basic_on_every_request)
        )
        auth = httpx.BasicAuth(self.options.user, self.options.password) if use_basic else None
        started = time.perf_counter()
        response = self._http.request(
            "POST" if body is not None else "GET",
            self.options.url,
            params=params,
            content=body,
            headers=headers,
            auth=auth,
        )
        seconds = time.perf_counter() - started
        self._http.cookies.clear()  # 1C sends only the cookie named in the checkauth reply
        text = _decode(response)
        self.report.requests.append(
            Exchange(
                type_, mode, filename, response.status_code, seconds, text.split("\n")[0], text
            )
        )
        return Reply(response.status_code, response.content, text)

    def checkauth(self, type_: str) -> Reply:
        reply = self.request(type_, "checkauth")
        if reply.status == "success" and len(reply.lines) >= 3:
            self.cookie = (reply.lines[1].strip(), reply.lines[2].strip())
        return reply

    def init(self, type_: str) -> Reply:
        extra = {"version": self.options.protocol_version} if self.options.protocol_version else {}
        reply = self.request(type_, "init", extra=extra)
        settings = dict(line.split("=", 1) for line in reply.lines if "=" in line)
        self.zip_agreed = settings.get("zip", "no").strip() == "yes"
        limit = settings.get("file_limit", "").strip()
        self.file_limit = int(limit) if limit.isdigit() and int(limit) > 0 else None
        self.version = settings.get("version", "").strip() or None
        return reply

    def upload(self, type_: str, name: str, data: bytes) -> list[Reply]:
        """POST ``data`` as ``name`` in chunks; stops at the first non-success reply."""
        replies = []
        for chunk in _chunks(data, self._chunk_size()):
            reply = self.request(type_, "file", filename=name, body=chunk)
            replies.append(reply)
            if reply.status != "success":
                break
        return replies

    def import_until_done(self, type_: str, name: str, mode: str = "import") -> tuple[Reply, int]:
        """Repeat ``mode=import`` while the site answers ``progress``; (last reply, polls)."""
        deadline = time.monotonic() + self.options.import_timeout_seconds
        polls = 0
        while True:
            reply = self.request(type_, mode, filename=name if mode == "import" else None)
            polls += 1
            if reply.status != "progress":
                return reply, polls
            if time.monotonic() > deadline:
                raise EmulatorError(f"{mode} {name}: still 'progress' after the polling timeout")

    def _chunk_size(self) -> int:
        sizes = [s for s in (self.options.chunk_size, self.file_limit) if s]
        return min(sizes) if sizes else 1024 * 1024


# --- the catalog exchange ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Upload:
    """One XML document to send, and the images that travel with it."""

    name: str
    data: bytes
    images: tuple[tuple[str, Path], ...] = ()


def collect_uploads(paths: list[Path]) -> list[Upload]:
    """The documents of ``paths`` (files or package folders), in 1C's order: import, offers..."""
    documents: list[tuple[Path, Path]] = []  # (file, its package folder)
    for path in paths:
        if path.is_dir():
            documents += [(p, path) for p in sorted(path.glob("*.xml"))]
        else:
            documents.append((path, path.parent))
    documents.sort(key=lambda item: _rank(item[0].name))
    uploads, images_sent = [], set()
    for document, folder in documents:
        images: tuple[tuple[str, Path], ...] = ()
        if document.name.lower().startswith("import") and folder not in images_sent:
            images = tuple(_images(folder))
            images_sent.add(folder)
        uploads.append(Upload(document.name, document.read_bytes(), images))
    return uploads


def run_catalog(client: ExchangeClient, uploads: list[Upload], say: Callable[[str], None]) -> None:
    """Send every upload; a Bitrix-module client uses one session and ends with complete."""
    one_session = client.options.protocol_version is not None
    if one_session and not _open(client, "catalog", say):
        return
    for upload in uploads:
        if not one_session and not _open(client, "catalog", say):
            return
        if not _send(client, "catalog", upload, say):
            return
    if one_session:
        for mode in ("deactivate", "complete"):
            extra = {"timestamp": str(int(time.time()))} if mode == "deactivate" else None
            reply, polls = _finish(client, mode, extra)
            _expect(client, f"catalog {mode}", reply, say, polls)


def _finish(client: ExchangeClient, mode: str, extra: dict[str, str] | None) -> tuple[Reply, int]:
    polls = 0
    while True:
        reply = client.request("catalog", mode, extra=extra)
        polls += 1
        if reply.status != "progress":
            return reply, polls


def _open(client: ExchangeClient, type_: str, say: Callable[[str], None]) -> bool:
    reply = client.checkauth(type_)
    if not _expect(client, f"{type_} checkauth", reply, say):
        return False
    reply = client.init(type_)
    say(
        f"{type_} init -> zip={'yes' if client.zip_agreed else 'no'}, "
        f"file_limit={client.file_limit}"
        + (f", version={client.version}" if client.version else "")
    )
    return reply.status_code == 200


def _send(client: ExchangeClient, type_: str, upload: Upload, say: Callable[[str], None]) -> bool:
    if client.options.zip and client.zip_agreed:
        name = f"v8_{secrets.token_hex(2).upper()}_{secrets.randbelow(4096):x}.zip"
        batches = [(name, _zip(upload))]
    else:
        batches = [(image_name, path.read_bytes()) for image_name, path in upload.images]
        batches.append((upload.name, upload.data))
    for name, data in batches:
        replies = client.upload(type_, name, data)
        if not _expect(
            client,
            f"{type_} file {name} ({len(data)} bytes, {len(replies)} chunk(s))",
            replies[-1],
            say,
            quiet=name.startswith("import_files/"),
        ):
            return False
    if upload.images and not (client.options.zip and client.zip_agreed):
        say(f"{type_} file: {len(upload.images)} image(s) sent one by one")
    reply, polls = client.import_until_done(type_, upload.name)
    return _expect(client, f"{type_} import {upload.name}", reply, say, polls)


# --- the sale exchange ---------------------------------------------------------------------


def run_sale(
    client: ExchangeClient,
    say: Callable[[str], None],
    *,
    updates: Path | None = None,
    send_updates: bool = True,
    confirm: bool = True,
) -> None:
    """``query`` (count the orders), ``success``, then a file of order updates from 1C."""
    if not _open(client, "sale", say):
        return
    reply = client.request("sale", "query")
    if reply.status_code != 200 or not reply.body.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml"):
        client.report.failures.append(f"sale query: not an XML document: {reply.text[:200]!r}")
        say(f"sale query -> FAILED: {reply.text[:200]}")
        return
    client.report.orders_xml = reply.body
    numbers = _order_numbers(reply.body, client)
    client.report.orders_received = numbers
    say(f"sale query -> {len(numbers)} order(s): {', '.join(numbers[:10])}")
    if not confirm:
        return
    _expect(client, "sale success", client.request("sale", "success"), say)
    if not send_updates or (updates is None and not numbers):
        return
    data = updates.read_bytes() if updates else updates_document(numbers)
    name = updates.name if updates else f"v8_{secrets.token_hex(2).upper()}_1.xml"
    replies = client.upload("sale", name, data)
    if not _expect(client, f"sale file {name}", replies[-1], say):
        return
    if client.version:
        reply, polls = client.import_until_done("sale", name)
        _expect(client, f"sale import {name}", reply, say, polls)


UpdatedLine = tuple[str, str, str, str]  # offer Ид, name, quantity, price


def updates_document(
    numbers: list[str],
    *,
    status: str = "[N] Принят",
    lines: dict[str, list[UpdatedLine]] | None = None,
) -> bytes:
    """What 1C sends back after loading the site's orders: its number, posted, a status; and,
    for the orders named in ``lines``, their goods as 1C has them now (``Товары``)."""
    now = datetime.now(ZoneInfo("Europe/Moscow"))
    lines = lines or {}
    documents = "".join(
        f"<Документ><Ид>{escape(number)}</Ид><Номер>{escape(number)}</Номер>"
        f"<Дата>{now:%Y-%m-%d}</Дата><Время>{now:%H:%M:%S}</Время>"
        "<ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль>"
        "<Валюта>руб</Валюта><Курс>1</Курс>"
        + _goods(lines.get(number))
        + "<ЗначенияРеквизитов>"
        + _requisite("Номер по 1С", f"ЗК-{index:06d}")
        + _requisite("Дата по 1С", f"{now:%Y-%m-%dT%H:%M:%S}")
        + _requisite("Проведен", "true")
        + _requisite("Статус заказа", status)
        + "</ЗначенияРеквизитов></Документ>"
        for index, number in enumerate(numbers, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="{now:%Y-%m-%dT%H:%M:%S}">'
        f"{documents}</КоммерческаяИнформация>\n"
    ).encode()


def _goods(lines: list[UpdatedLine] | None) -> str:
    if lines is None:
        return ""
    goods = "".join(
        f"<Товар><Ид>{escape(offer)}</Ид><Наименование>{escape(name)}</Наименование>"
        f"<ЦенаЗаЕдиницу>{price}</ЦенаЗаЕдиницу><Количество>{quantity}</Количество>"
        f"<Сумма>{Decimal(price) * Decimal(quantity)}</Сумма></Товар>"
        for offer, name, quantity, price in lines
    )
    return f"<Товары>{goods}</Товары>"


def _requisite(name: str, value: str) -> str:
    return (
        f"<ЗначениеРеквизита><Наименование>{escape(name)}</Наименование>"
        f"<Значение>{escape(value)}</Значение></ЗначениеРеквизита>"
    )


def _order_numbers(body: bytes, client: ExchangeClient) -> list[str]:
    try:
        orders = list(read_orders(io.BytesIO(body), name="query.xml", tz=ZoneInfo("Europe/Moscow")))
    except FormatError as exc:
        client.report.failures.append(f"sale query: unreadable orders document: {exc}")
        return []
    return [order.number or order.onec_id for order in orders]


# --- the whole run -------------------------------------------------------------------------


def emulate(
    options: Options,
    paths: list[Path],
    *,
    say: Callable[[str], None] = print,
    sale: bool = True,
    updates: Path | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Report:
    """Run the catalog exchange for ``paths``, then (``sale``) the sale exchange."""
    client = ExchangeClient(options, transport=transport)
    try:
        if paths:
            run_catalog(client, collect_uploads(paths), say)
        if sale and client.report.ok:
            run_sale(client, say, updates=updates)
    except httpx.HTTPError as exc:
        client.report.failures.append(f"HTTP error: {exc}")
        say(f"HTTP error: {exc}")
    finally:
        client.close()
    longest = client.report.longest()
    if longest is not None:
        what = " ".join(p for p in (longest.type, longest.mode, longest.filename) if p)
        say(f"{len(client.report.requests)} request(s); longest {longest.seconds:.2f} s ({what})")
    say("exchange OK" if client.report.ok else f"exchange FAILED: {client.report.failures[0]}")
    return client.report


# --- helpers -------------------------------------------------------------------------------


def _expect(
    client: ExchangeClient,
    what: str,
    reply: Reply,
    say: Callable[[str], None],
    polls: int = 1,
    *,
    quiet: bool = False,
) -> bool:
    detail = " ".join(line for line in reply.lines[1:] if line.strip())
    if reply.lines[0] == "success" and what.endswith("checkauth"):
        detail = f"cookie {reply.lines[1].strip()}" if len(reply.lines) > 1 else ""
    repeated = (
        f" (after {polls - 1} progress repl{'y' if polls == 2 else 'ies'})" if polls > 1 else ""
    )
    if reply.status_code == 200 and reply.status == "success":
        if not quiet:
            say(f"{what} -> success{repeated}{': ' + detail if detail else ''}")
        return True
    answer = " / ".join(line for line in reply.text.strip().split("\n") if line.strip())[:500]
    client.report.failures.append(f"{what}: HTTP {reply.status_code}: {answer}")
    say(f"{what} -> FAILED{repeated}: HTTP {reply.status_code}: {answer}")
    return False


def _decode(response: httpx.Response) -> str:
    charset = response.charset_encoding or "windows-1251"
    try:
        return response.content.decode(charset, errors="replace")
    except LookupError:
        return response.content.decode("windows-1251", errors="replace")


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    if not data:
        yield b""
        return
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _rank(name: str) -> tuple[int, str]:
    lowered = name.lower()
    for index, prefix in enumerate(_ORDER_FILE_ORDER):
        if lowered.startswith(prefix):
            return index, lowered
    return len(_ORDER_FILE_ORDER), lowered


def _images(folder: Path) -> Iterator[tuple[str, Path]]:
    root = folder / "import_files"
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            yield path.relative_to(folder).as_posix(), path


def _zip(upload: Upload) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(upload.name, upload.data)
        for name, path in upload.images:
            archive.write(path, name)
    return buffer.getvalue()
