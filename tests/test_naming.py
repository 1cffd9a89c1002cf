"""v2 endpoint names for v1 names."""

from __future__ import annotations

import pytest

from migrate_kit.naming import assign_endpoint_names, endpoint_name, is_valid_endpoint_name


@pytest.mark.parametrize(
    ("v1_name", "expected"),
    [
        ("daily-forecast", "daily-forecast"),
        ("daily_sales forecast", "daily-sales-forecast"),
        ("Prévisions Zürich", "previsions-zurich"),
        ("2024 retrain", "ep-2024-retrain"),
        ("__x__", "x-ep"),
    ],
)
def test_endpoint_name_maps_to_a_valid_name(v1_name: str, expected: str) -> None:
    assert endpoint_name(v1_name) == expected
    assert is_valid_endpoint_name(expected)


def test_long_names_are_cut_with_a_hash_and_stay_distinct() -> None:
    a = endpoint_name("store replenishment weekly batch scoring pipeline A")
    b = endpoint_name("store replenishment weekly batch scoring pipeline B")
    assert len(a) <= 32 and len(b) <= 32
    assert a != b
    assert is_valid_endpoint_name(a) and is_valid_endpoint_name(b)


def test_names_that_collide_once_mapped_get_distinct_names() -> None:
    names = assign_endpoint_names(["daily_sales", "daily-sales", "weekly"])
    assert names["daily-sales"] == "daily-sales"
    assert names["daily_sales"] != "daily-sales"
    assert names["daily_sales"].startswith("daily-sales-")
    assert all(is_valid_endpoint_name(n) for n in names.values())
    assert assign_endpoint_names(["daily-sales", "weekly", "daily_sales"]) == names


@pytest.mark.parametrize("name", ["ab", "a_b_c", "1abc", "abc-", "a" * 33, "ab cd"])
def test_invalid_names_are_recognised(name: str) -> None:
    assert not is_valid_endpoint_name(name)
