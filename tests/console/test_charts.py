"""The SVG pictures: text from the database is escaped, failures are red, nothing is a note."""

from __future__ import annotations

from console.charts import Bar, bars


def test_labels_and_titles_are_escaped_so_no_markup_gets_into_the_page() -> None:
    svg = str(bars([Bar(1.0, '<script>alert("x")</script>')], title="<b>t</b>", unit="<u>"))
    assert "<script>" not in svg
    assert "<b>" not in svg
    assert "&lt;script&gt;" in svg


def test_failed_runs_are_drawn_red_and_bars_scale_to_the_largest_value() -> None:
    svg = str(bars([Bar(10.0, "ok"), Bar(5.0, "bad", bad=True)], title="t", unit="s"))
    assert svg.count('class="bar"') == 1
    assert svg.count('class="bar bad"') == 1
    assert ">10.0</text>" in svg


def test_an_empty_period_is_said_in_words_instead_of_an_empty_picture() -> None:
    html = str(bars([], title="Orders per hour", unit="orders"))
    assert "<svg" not in html
    assert "nothing in this period" in html
