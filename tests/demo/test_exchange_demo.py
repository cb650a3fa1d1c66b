"""The exchange part of ``make demo`` on SQLite: catalog in, an order out and back."""

from __future__ import annotations

from pathlib import Path

from bench.gen_package import PackageSpec, generate_package
from config import DatabaseSettings, PathSettings, Settings
from demo.exchange import run_exchange_demo
from syncd.store import migrate
from syncd.store.engine import make_engine


def test_the_demo_imports_the_package_and_round_trips_an_order(tmp_path: Path) -> None:
    package = generate_package(tmp_path / "pkg", PackageSpec(products=30))
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'demo.db'}"),
        paths=PathSettings(data_dir=tmp_path / "data"),
    )
    engine = make_engine(settings.database)
    migrate.upgrade(engine)
    lines: list[str] = []
    summary = run_exchange_demo(settings, engine, [tmp_path / "pkg"], say=lines.append)
    engine.dispose()
    assert summary.ok, summary.failures
    assert (summary.products, summary.offers, summary.prices) == (
        package.products,
        package.offers,
        package.prices,
    )
    assert summary.order_number is not None
    assert summary.order_number_1c == "ЗК-000001"
    assert summary.order_status == "[N] Принят"
    assert len(summary.order_history) == 1
    assert any(line.startswith("sale query -> 1 order(s)") for line in lines)
