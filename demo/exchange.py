"""The exchange part of ``make demo``: serve the endpoint, let the emulator play 1C, report.

``run_exchange_demo`` starts the exchange on a free local port inside this process (as the daemon
does), uploads a package as 1C would, places a shop order for two of the imported offers, runs the
sale exchange (the order goes to 1C, 1C confirms it and sends back its number and status), stops
the server and returns what landed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import Secret, Settings
from syncd.exchange.emulator import (
    ExchangeClient,
    Options,
    Report,
    Upload,
    collect_uploads,
    run_catalog,
    run_sale,
)
from syncd.exchange.server import start_exchange
from syncd.store.models import Offer, Order, OrderLine, OrderStatusChange, Price, Product, Stock


@dataclass(frozen=True, slots=True)
class DemoSummary:
    url: str
    ok: bool
    failures: tuple[str, ...]
    requests: int
    longest_request_seconds: float
    products: int
    offers: int
    prices: int
    stock_rows: int
    order_number: str | None
    order_status: str | None
    order_number_1c: str | None
    order_history: tuple[str, ...]


def run_exchange_demo(
    settings: Settings,
    engine: Engine,
    package: list[Path],
    *,
    say: Callable[[str], None] = print,
) -> DemoSummary:
    """Run the whole demo against ``engine`` (migrated); credentials are made up for it."""
    password = secrets.token_urlsafe(12)
    settings = replace(
        settings,
        exchange=replace(
            settings.exchange, username="1c-demo", password=Secret(password), password_hash=""
        ),
    )
    running = start_exchange(settings, engine, listen="127.0.0.1:0")
    url = running.url
    say(f"exchange served at {url}")
    options = Options(url=url, user="1c-demo", password=password, zip=True)
    client = ExchangeClient(options)
    try:
        number = play_1c(client, collect_uploads(package), engine, say)
    finally:
        client.close()
        running.stop()
    return _summary(engine, url, client.report, number)


def play_1c(
    client: ExchangeClient, uploads: list[Upload], engine: Engine, say: Callable[[str], None]
) -> str | None:
    """1C's side of the demo: upload the package, then (once a shop order for two of its offers
    is placed) the sale exchange. Returns that order's number, or ``None`` if none was placed."""
    run_catalog(client, uploads, say)
    number = place_demo_order(engine) if client.report.ok else None
    if number:
        say(f"shop order {number} placed for two offers")
        run_sale(client, say)
    return number


def place_demo_order(engine: Engine) -> str | None:
    """A shop order for the first two offers that have a price; ``None`` when there are none."""
    with Session(engine) as db:
        rows = db.execute(
            select(Offer, Price)
            .join(Price, Price.offer_onec_id == Offer.onec_id)
            .where(Price.value.is_not(None))
            .order_by(Offer.id)
            .limit(2)
        ).all()
        if not rows:
            return None
        number = f"DEMO-{secrets.token_hex(3).upper()}"
        lines = [
            OrderLine(
                line_no=index,
                offer_onec_id=offer.onec_id,
                product_onec_id=offer.product_onec_id,
                name=offer.name or offer.onec_id,
                quantity=Decimal(index),
                price=price.value or Decimal(0),
                total=(price.value or Decimal(0)) * index,
            )
            for index, (offer, price) in enumerate(rows, start=1)
        ]
        db.add(
            Order(
                number=number,
                customer={
                    "name": "Иван Петров",
                    "email": "ivan@example.ru",
                    "phone": "+7 900 000-00-00",
                },
                status="new",
                currency="RUB",
                total=sum((line.total for line in lines), Decimal(0)),
                lines=lines,
            )
        )
        db.commit()
        return number


def _summary(engine: Engine, url: str, report: Report, number: str | None) -> DemoSummary:
    with Session(engine) as db:

        def count(model: type[object]) -> int:
            return int(db.scalar(select(func.count()).select_from(model)) or 0)

        order = db.scalars(select(Order).where(Order.number == number)).first() if number else None
        history = (
            db.scalars(
                select(OrderStatusChange.note).where(OrderStatusChange.order_id == order.id)
            ).all()
            if order
            else []
        )
        longest = report.longest()
        return DemoSummary(
            url=url,
            ok=report.ok,
            failures=tuple(report.failures),
            requests=len(report.requests),
            longest_request_seconds=longest.seconds if longest else 0.0,
            products=count(Product),
            offers=count(Offer),
            prices=count(Price),
            stock_rows=count(Stock),
            order_number=number,
            order_status=order.status if order else None,
            order_number_1c=order.onec_number if order else None,
            order_history=tuple(note or "" for note in history),
        )
