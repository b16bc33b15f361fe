"""lag_text and plural: spans of days and counts as people say them."""

import pytest

from movie_pipeline.stats.wording import lag_text, plural


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (0, "0 days"),
        (1, "1 day"),
        (59, "59 days"),
        (60, "2 months"),  # 60 / 30.44 = 1.97
        (198, "7 months"),  # 6.50
        (729, "24 months"),  # 23.95
        (730, "2.0 years"),  # 730 / 365.25 = 1.999
        (26058, "71.3 years"),  # 71.34
    ],
)
def test_lag_text(days: float, text: str) -> None:
    assert lag_text(days) == text


def test_plural_counts_one_as_singular() -> None:
    assert [plural(n, "film") for n in (0, 1, 2, 1234)] == ["0 films", "1 film", "2 films", "1,234 films"]
