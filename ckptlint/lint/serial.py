"""Checking the JSON shapes ckptlint stores (the result cache) before anything is built from them.

Every class that crosses the cache has `to_data()` (plain JSON: dicts, lists, strings, numbers, None)
and `from_data(data)`, which validates with these helpers and raises `DataError` on anything it did not
write itself: a wrong type, a missing or extra key, a value out of range. A cache entry that fails is a
miss, so a shape that changes between versions costs a re-lint, never a crash or a wrong result.
"""

from __future__ import annotations

from typing import Any


class DataError(ValueError):
    """Stored data does not have the shape this version of ckptlint writes."""


def record(data: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    """`data` as a JSON object with exactly the `required` keys and possibly the `optional` ones."""
    if type(data) is not dict:
        raise DataError(f"expected an object, not {type(data).__name__}")
    keys = set(data)
    missing = set(required) - keys
    extra = keys - set(required) - set(optional)
    if missing or extra:
        raise DataError(f"keys: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return data


def text(value: Any) -> str:
    if type(value) is not str:
        raise DataError(f"expected a string, not {type(value).__name__}")
    return value


def optional_text(value: Any) -> str | None:
    return None if value is None else text(value)


def integer(value: Any, minimum: int | None = None) -> int:
    if type(value) is not int or (minimum is not None and value < minimum):
        raise DataError(f"expected an integer >= {minimum}, not {value!r}"[:200])
    return value


def optional_integer(value: Any, minimum: int | None = None) -> int | None:
    return None if value is None else integer(value, minimum)


def boolean(value: Any) -> bool:
    if type(value) is not bool:
        raise DataError(f"expected true or false, not {type(value).__name__}")
    return value


def array(value: Any) -> list:
    if type(value) is not list:
        raise DataError(f"expected an array, not {type(value).__name__}")
    return value


def texts(value: Any) -> list[str]:
    return [text(item) for item in array(value)]
