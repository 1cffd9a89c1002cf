"""v2 names and versions for v1 things: valid as azure-ai-ml checks them, stable, distinct."""

from __future__ import annotations

import re
from types import MappingProxyType

import pytest
from azure.ai.ml._schema.component.component import ComponentNameStr
from azure.ai.ml._utils._arm_id_utils import parse_name_version
from azure.ai.ml.entities import PipelineComponentBatchDeployment
from azure.ai.ml.entities._endpoint._endpoint_helpers import validate_endpoint_or_deployment_name
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate_kit.errors import ConfigurationError
from migrate_kit.naming import (
    assign_component_names,
    assign_deployment_names,
    assign_endpoint_names,
    component_name,
    component_version,
    content_hash,
    deployment_name,
    endpoint_name,
    is_valid_component_name,
    is_valid_component_version,
    is_valid_deployment_name,
    is_valid_endpoint_name,
    validate_component_name,
    validate_deployment_name,
    validate_endpoint_name,
)

# Any text, any script, control characters included; short so examples stay cheap.
any_text = st.text(max_size=80)
hex_hashes = st.text("0123456789abcdef", min_size=1, max_size=16)


def examples(count: int) -> settings:
    """Hypothesis settings for ``count`` examples, without a deadline: timing is not under test."""
    return settings(max_examples=count, deadline=None)


def sdk_accepts_component_name(name: str) -> bool:
    try:
        ComponentNameStr()._deserialize(name, "name", {})
    except Exception:
        return False
    return True


def sdk_accepts_endpoint_name(name: str, *, deployment: bool = False) -> bool:
    try:
        validate_endpoint_or_deployment_name(name, is_deployment=deployment)
    except Exception:
        return False
    return True


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


# --- endpoints: properties and validation ----------------------------------------------------


@given(any_text)
@examples(200)
def test_endpoint_names_are_valid_for_any_text(v1_name: str) -> None:
    name = endpoint_name(v1_name)
    assert is_valid_endpoint_name(name)
    assert sdk_accepts_endpoint_name(name)
    assert name == endpoint_name(v1_name)


@given(st.lists(any_text, max_size=8))
@examples(100)
def test_assigned_endpoint_names_are_distinct_and_do_not_depend_on_order(
    v1_names: list[str],
) -> None:
    names = assign_endpoint_names(v1_names)
    assert set(names) == set(v1_names)
    assert len(set(names.values())) == len(names)
    assert all(is_valid_endpoint_name(n) for n in names.values())
    assert assign_endpoint_names(list(reversed(v1_names))) == names


def test_an_endpoint_name_equal_to_another_ones_hashed_name_still_gets_its_own() -> None:
    first = assign_endpoint_names(["daily-sales", "daily_sales"])["daily_sales"]
    names = assign_endpoint_names(["daily-sales", "daily_sales", first])
    assert len(set(names.values())) == 3


@given(any_text)
@examples(100)
def test_endpoint_validation_agrees_with_the_sdk(name: str) -> None:
    if sdk_accepts_endpoint_name(name) and "\n" not in name:  # the SDK's ``$`` allows one
        validate_endpoint_name(name)
    else:
        with pytest.raises(ConfigurationError) as raised:
            validate_endpoint_name(name)
        assert repr(name) in str(raised.value)


def test_endpoint_validation_names_the_value_the_rule_and_a_fix() -> None:
    with pytest.raises(ConfigurationError) as raised:
        validate_endpoint_name("daily_sales")
    message = str(raised.value)
    assert "'daily_sales'" in message
    assert "3 to 32 characters" in message and "letters, digits and hyphens" in message
    assert "'daily-sales'" in message
    validate_endpoint_name("Daily-Sales")


# --- components ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("daily-sales-forecast", "prep_sales"), "daily_sales_forecast__prep_sales"),
        (("Prévisions Zürich",), "previsions_zurich"),
        (("2024 retrain", "score"), "c_2024_retrain__score"),
        (("pipeline", "", "step"), "pipeline__step"),
        (("azureml anonymous",), "azureml_anonymous_92cf0900"),
    ],
)
def test_component_names_for_sample_parts(parts: tuple[str, ...], expected: str) -> None:
    assert component_name(*parts) == expected
    assert is_valid_component_name(expected)


def test_component_names_without_letters_or_too_long_get_a_hash() -> None:
    assert re.fullmatch(r"c_[0-9a-f]{8}", component_name("予測", "—"))
    long_a = component_name("store replenishment weekly batch scoring pipeline", "a" * 40)
    long_b = component_name("store replenishment weekly batch scoring pipeline", "a" * 41)
    assert len(long_a) == len(long_b) == 64
    assert long_a != long_b


@given(st.lists(any_text, max_size=4))
@examples(200)
def test_component_names_are_valid_for_any_parts(parts: list[str]) -> None:
    name = component_name(*parts)
    assert is_valid_component_name(name)
    assert sdk_accepts_component_name(name)
    assert len(name) <= 64
    assert name == component_name(*parts)


@given(st.lists(st.lists(any_text, min_size=1, max_size=3).map(tuple), max_size=8))
@examples(100)
def test_assigned_component_names_are_distinct_and_do_not_depend_on_order(
    keys: list[tuple[str, ...]],
) -> None:
    names = assign_component_names(keys)
    assert set(names) == set(keys)
    assert len(set(names.values())) == len(names)
    assert all(is_valid_component_name(n) for n in names.values())
    assert assign_component_names(list(reversed(keys))) == names


def test_parts_that_join_alike_get_distinct_component_names() -> None:
    names = assign_component_names([("a_b", "c"), ("a", "b_c"), ("daily sales",), ("daily-sales",)])
    assert names[("a_b", "c")] == "a_b__c" and names[("a", "b_c")] == "a__b_c"
    assert names[("daily sales",)] == "daily_sales"
    assert names[("daily-sales",)].startswith("daily_sales_")


@given(any_text)
@examples(100)
def test_component_name_validation_agrees_with_the_sdk(name: str) -> None:
    # Stricter than the SDK's own check: ASCII digits only (its ``\d`` takes any script's),
    # no trailing newline (its ``$`` lets one through), and not the SDK's reserved name.
    if (
        sdk_accepts_component_name(name)
        and name.isascii()
        and "\n" not in name
        and name != "azureml_anonymous"
    ):
        validate_component_name(name)
    else:
        with pytest.raises(ConfigurationError) as raised:
            validate_component_name(name)
        assert repr(name) in str(raised.value)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("Prep", "lower-case letter"),
        ("1prep", "lower-case letter"),
        ("prep-sales", "underscores"),
        ("a" * 256, "at most 255"),
        ("azureml_anonymous", "unregistered components"),
    ],
)
def test_component_name_validation_names_the_value_and_the_rule(name: str, rule: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        validate_component_name(name)
    assert repr(name) in str(raised.value) and rule in str(raised.value)


# --- deployments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "index", "expected"),
    [
        ("0", 0, "version-0"),
        ("1.4", 3, "version-1-4"),
        (None, 2, "version-2"),
        ("Blue", 0, "version-blue"),
    ],
)
def test_deployment_names_for_sample_versions(
    version: str | None, index: int, expected: str
) -> None:
    assert deployment_name(version, index) == expected


@given(st.one_of(st.none(), any_text), st.integers(min_value=0, max_value=10**40))
@examples(200)
def test_deployment_names_are_valid_for_any_version(version: str | None, index: int) -> None:
    name = deployment_name(version, index)
    assert is_valid_deployment_name(name)
    assert sdk_accepts_endpoint_name(name, deployment=True)
    # azure-ai-ml lower-cases deployment names; ours are unchanged by it.
    assert PipelineComponentBatchDeployment(name=name, endpoint_name="e").name == name


@given(st.lists(st.one_of(st.none(), any_text), max_size=8))
@examples(100)
def test_assigned_deployment_names_are_distinct_and_in_order(versions: list[str | None]) -> None:
    names = assign_deployment_names(versions)
    assert len(names) == len(versions)
    assert len(set(names)) == len(names)
    assert all(is_valid_deployment_name(n) for n in names)


def test_versions_that_fold_alike_get_distinct_deployment_names() -> None:
    names = assign_deployment_names(["1.0", "1-0", "1.0", None, "3"])
    assert names[0] == "version-1-0" and names[3] == "version-3"
    assert len(set(names)) == 5
    assert deployment_name("1-0", 1) != names[1]


def test_deployment_index_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="-1"):
        deployment_name(None, -1)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("v1", "3 to 32 characters"),
        ("version_1", "hyphens"),
        ("-blue", "start with a lower-case letter"),
        ("Blue", "write it 'blue'"),
        ("blue-", "not ending in a hyphen"),
    ],
)
def test_deployment_name_validation_names_the_value_and_the_rule(name: str, rule: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        validate_deployment_name(name)
    assert repr(name) in str(raised.value) and rule in str(raised.value)
    validate_deployment_name("blue")


def test_validators_refuse_what_is_not_text() -> None:
    for validate in (validate_endpoint_name, validate_component_name, validate_deployment_name):
        with pytest.raises(ConfigurationError, match="must be text"):
            validate(None)  # type: ignore[arg-type]


# --- versions and content hashes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("v1_version", "expected"),
    [
        ("1.4", "1.4-3f2a9c1d"),
        (None, "unversioned-3f2a9c1d"),
        ("", "unversioned-3f2a9c1d"),
        ("v2 (beta)", "v2-beta-3f2a9c1d"),
        ("..1/2.", "1-2-3f2a9c1d"),
        ("Révision_7", "Revision_7-3f2a9c1d"),
    ],
)
def test_component_versions_for_sample_versions(v1_version: str | None, expected: str) -> None:
    assert component_version(v1_version, "3f2a9c1d") == expected


@given(st.one_of(st.none(), any_text), hex_hashes, hex_hashes)
@examples(200)
def test_component_versions_are_valid_and_change_with_the_hash(
    v1_version: str | None, first: str, second: str
) -> None:
    version = component_version(v1_version, first)
    assert is_valid_component_version(version)
    assert len(version) <= 32 + 1 + len(first)
    assert parse_name_version(f"name:{version}") == ("name", version)
    assert (component_version(v1_version, second) == version) == (first == second)


def test_a_hash_that_is_not_letters_and_digits_is_refused() -> None:
    for bad in ["", "ab-cd", "ab/cd", "é"]:
        with pytest.raises(ValueError, match="letters and digits"):
            component_version("1", bad)


def test_content_hashes_are_stable_and_ignore_key_order() -> None:
    one = {"name": "prep", "inputs": {"b": 1, "a": [1, "x"]}}
    other = {"inputs": {"a": [1, "x"], "b": 1}, "name": "prep"}
    assert content_hash(one) == content_hash(other) == "c378fc5e"
    assert content_hash(MappingProxyType(one)) == content_hash(one)
    assert content_hash({**one, "name": "prep2"}) != content_hash(one)
    assert re.fullmatch(r"[0-9a-f]{8}", content_hash([]))


def test_content_hashes_refuse_what_json_cannot_write() -> None:
    with pytest.raises(TypeError, match="set"):
        content_hash({"a": {1, 2}})
    with pytest.raises(ValueError):
        content_hash(float("nan"))
