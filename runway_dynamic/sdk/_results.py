"""What the official SDK's surface returns: attribute access over the API's JSON.

``task.failure_code`` reads ``failureCode``; ``task.created_at`` a ``datetime`` where the
response schema says ``format: date-time``; a property the schema names but the answer
left out reads ``None``; anything else is an :class:`AttributeError`. ``to_dict()`` gives
the JSON as the API sent it (the API's names), ``to_json()`` the same as text.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from runway_dynamic.catalog import Schema
from runway_dynamic.naming import python_name
from runway_dynamic.sdk._arguments import array_items, branches, object_properties

T = TypeVar("T")


def wrap(value: Any, schema: Schema | None) -> Any:
    """A JSON value as the surface shows it: objects as :class:`Result`, lists item by item."""
    schema = schema or {}
    if isinstance(value, Mapping):
        values = _map_values(schema)
        if values is not None:  # a free-form map (keyed by node ids…): a dict, as JSON has it
            return {key: wrap(item, values) for key, item in value.items()}
        return Result(value, schema)
    if isinstance(value, list):
        items = array_items(schema)
        return [wrap(item, items) for item in value]
    if isinstance(value, str) and any(b.get("format") == "date-time" for b in branches(schema)):
        return _datetime(value)
    return value


def _map_values(schema: Schema) -> Schema | None:
    """The value schema of a map (an object the schema gives no properties, only
    ``additionalProperties`` or ``propertyNames``); ``None`` for anything else."""
    for branch in branches(schema):
        if object_properties(branch):
            return None
        extra = branch.get("additionalProperties")
        if isinstance(extra, Mapping):
            return extra
        if extra is True or "propertyNames" in branch or "patternProperties" in branch:
            return {}
    return None


def _datetime(text: str) -> Any:
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text


class Result:
    """One JSON object of an answer, read by attribute (snake_case) — see the module doc."""

    __slots__ = ("_data", "_keys", "_schema")

    def __init__(self, data: Mapping[str, Any], schema: Schema | None = None) -> None:
        object.__setattr__(self, "_data", dict(data))
        object.__setattr__(self, "_schema", schema or {})
        object.__setattr__(self, "_keys", None)

    def _names(self) -> dict[str, str]:
        """Python name → JSON key, for the keys present and those the schema names."""
        keys = self._keys
        if keys is None:
            keys = {python_name(k): k for k in object_properties(self._schema)}
            keys.update({python_name(k): k for k in self._data})
            object.__setattr__(self, "_keys", keys)
        return keys

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        data = self._data
        key = name if name in data else self._names().get(name)
        if key is None:
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r}; it has: "
                + ", ".join(sorted(self._names())))
        if key not in data:
            return None
        return wrap(data[key], object_properties(self._schema).get(key))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key: str) -> Any:
        """The JSON value under the API's own name (``result["failureCode"]``)."""
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __dir__(self) -> list[str]:
        return sorted({*self._names(), "to_dict", "to_json"})

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Result):
            return self._data == other._data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{python_name(k)}={v!r}" for k, v in list(self._data.items())[:8])
        more = ", …" if len(self._data) > 8 else ""
        return f"{type(self).__name__}({shown}{more})"

    def to_dict(self, *, use_api_names: bool = True) -> dict[str, Any]:
        """The JSON object (a copy): the API's names, or snake_case ones."""
        data = copy.deepcopy(self._data)
        return data if use_api_names else _snake_keys(data)

    def to_json(self, *, indent: int | None = 2, use_api_names: bool = True) -> str:
        return json.dumps(self.to_dict(use_api_names=use_api_names), indent=indent)


def _snake_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {python_name(k): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


class TaskResult(Result):
    """What a create answers: the id of what it made, and a way to wait for it."""

    __slots__ = ("_wait",)

    def __init__(self, data: Mapping[str, Any], schema: Schema | None,
                 wait: Callable[[str, float | None], Any]) -> None:
        super().__init__(data, schema)
        object.__setattr__(self, "_wait", wait)

    def wait_for_task_output(self, timeout: float | None = 600) -> Any:
        """Poll until it settles; the finished task (``timeout`` seconds; ``None``: forever).

        Raises :class:`TaskFailedError` (``.task_details``) when it fails or is cancelled,
        :class:`TaskTimeoutError` when ``timeout`` passes first.
        """
        return self._wait(str(self._data.get("id")), timeout)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), "wait_for_task_output"})


# --------------------------------------------------------------------------- pages


class Page(Generic[T]):
    """One page of a list; iterating goes on through the next pages (one request each)."""

    def __init__(self, data: list[T], next_cursor: str | None,
                 fetch_next: Callable[[str], Page[T]] | None, raw: Mapping[str, Any]) -> None:
        self.data = data
        self.next_cursor = next_cursor
        self._fetch_next = fetch_next
        self._raw = dict(raw)

    def has_next_page(self) -> bool:
        return bool(self.next_cursor) and self._fetch_next is not None

    def get_next_page(self) -> Page[T]:
        if not self.has_next_page() or self._fetch_next is None or self.next_cursor is None:
            raise RuntimeError("no next page; check has_next_page() first")
        return self._fetch_next(self.next_cursor)

    def iter_pages(self) -> Iterator[Page[T]]:
        page: Page[T] = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = page.get_next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._raw)

    def __repr__(self) -> str:
        return f"Page(items={len(self.data)}, next_cursor={self.next_cursor!r})"


class AsyncPage(Generic[T]):
    """The async twin of :class:`Page` (``async for`` goes through the next pages)."""

    def __init__(self, data: list[T], next_cursor: str | None,
                 fetch_next: Callable[[str], Awaitable[AsyncPage[T]]] | None,
                 raw: Mapping[str, Any]) -> None:
        self.data = data
        self.next_cursor = next_cursor
        self._fetch_next = fetch_next
        self._raw = dict(raw)

    def has_next_page(self) -> bool:
        return bool(self.next_cursor) and self._fetch_next is not None

    async def get_next_page(self) -> AsyncPage[T]:
        if not self.has_next_page() or self._fetch_next is None or self.next_cursor is None:
            raise RuntimeError("no next page; check has_next_page() first")
        return await self._fetch_next(self.next_cursor)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page: AsyncPage[T] = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = await page.get_next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._raw)

    def __repr__(self) -> str:
        return f"AsyncPage(items={len(self.data)}, next_cursor={self.next_cursor!r})"


class AsyncPaginator(Generic[T]):
    """What an async list call returns: ``await`` it for the first page, or ``async for``
    over it for every item of every page (as the official SDK's async lists do)."""

    def __init__(self, first: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._first = first

    def __await__(self) -> Any:
        return self._first().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first()
        async for item in page:
            yield item


def page_shape(schema: Schema | None) -> tuple[str | None, str | None, Schema]:
    """``(items property, next-cursor property, item schema)`` of a list answer.

    The items are the answer's array property (``data``); the cursor is a property named
    ``next…`` (``nextCursor``), sent back in the query parameter it names (``cursor``).
    """
    properties = object_properties(schema or {})
    arrays = [n for n, s in properties.items() if any(
        b.get("type") == "array" or "items" in b for b in branches(s))]
    items = "data" if "data" in arrays else (arrays[0] if len(arrays) == 1 else None)
    cursor = next((n for n in properties if n.lower().startswith("next") and n != items), None)
    return items, cursor, array_items(properties.get(items, {})) if items else {}


def cursor_parameter(cursor_property: str, query_names: list[str]) -> str | None:
    """The query parameter a ``next…`` property feeds: ``nextCursor`` → ``cursor``."""
    stem = cursor_property[4:]
    for name in query_names:
        if name.lower() == stem.lower():
            return name
    return None


# --------------------------------------------------------------------------- raw answers


class RawResponse(Generic[T]):
    """An answer with its HTTP details (``with_raw_response``); ``parse()`` gives what the
    method would have returned."""

    def __init__(self, response: Any, parse: Callable[[], T]) -> None:
        self.http_response = response
        self._parse = parse
        self._parsed: list[T] = []

    @property
    def headers(self) -> Any:
        return self.http_response.headers

    @property
    def status_code(self) -> int:
        return int(self.http_response.status_code)

    @property
    def url(self) -> Any:
        return self.http_response.url

    @property
    def method(self) -> str:
        return str(self.http_response.request.method)

    @property
    def http_request(self) -> Any:
        return self.http_response.request

    @property
    def http_version(self) -> str:
        return str(self.http_response.http_version)

    @property
    def elapsed(self) -> _dt.timedelta:
        return self.http_response.elapsed

    @property
    def content(self) -> bytes:
        return bytes(self.http_response.content)

    def read(self) -> bytes:
        return self.content

    def text(self) -> str:
        return str(self.http_response.text)

    def json(self) -> Any:
        return self.http_response.json()

    def parse(self) -> T:
        if not self._parsed:
            self._parsed.append(self._parse())
        return self._parsed[0]

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}] {self.method} {self.url}>"
