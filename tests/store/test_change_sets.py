"""What one batch's ``ChangeSet`` makes of what the writers tell it."""

from __future__ import annotations

from syncd.store.changes import ChangeSet


def test_a_new_offers_first_prices_and_stock_are_its_created_events_data_in_either_order() -> None:
    found = ChangeSet()
    found.add("stock", "P-1", "changed", {"product": "P-1", "stock": {"WH-1": "3"}})
    found.add("offer", "P-1", "created")
    found.add("price", "P-1", "changed", {"product": "P-1", "prices": {"PT-1": "10"}})
    found.add("price", "P-1", "changed", {"product": "P-1", "prices": {"PT-2": "9"}})
    assert found.events() == [
        (
            "offer",
            "P-1",
            "created",
            {"product": "P-1", "stock": {"WH-1": "3"}, "prices": {"PT-1": "10", "PT-2": "9"}},
        )
    ]


def test_an_existing_offers_new_values_are_price_and_stock_events() -> None:
    found = ChangeSet()
    found.add("offer", "P-1", "changed")
    found.add("price", "P-1", "changed", {"product": "P-1", "prices": {"PT-1": "10"}})
    found.add("stock", "P-2", "changed", {"product": "P-2", "stock": {"": "1"}})
    assert [(kind, rid, action) for kind, rid, action, _ in found.events()] == [
        ("offer", "P-1", "changed"),
        ("price", "P-1", "changed"),
        ("stock", "P-2", "changed"),
    ]
