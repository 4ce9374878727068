"""Product facts from a web page: Open Graph, Twitter cards and JSON-LD, parsed locally.

``fetch_product(url)`` downloads at most :data:`MAX_BYTES` within :data:`TIME_LIMIT`
seconds (redirects followed, http/https only), then :func:`parse_product` reads the page
with the standard library's HTML parser: ``<meta property/name>`` tags, ``<title>``,
``<link rel=canonical>`` and ``application/ld+json`` scripts. JSON-LD ``Product`` data wins
over Open Graph, which wins over Twitter cards and plain tags. Entities are decoded and
image URLs made absolute. No API call, no script runs.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from runway_dynamic._exceptions import APIConnectionError, UsageError
from runway_dynamic.boundary import Boundary, guard_hooks, trust_environment

MAX_BYTES = 3 * 1024 * 1024
TIME_LIMIT = 15.0
MAX_IMAGES = 20
_USER_AGENT = "runway-dynamic-webproducts/1 (+metadata reader)"


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, list[str]] = {}
        self.title = ""
        self.canonical: str | None = None
        self.ld: list[str] = []
        self._in_title = False
        self._in_ld = False
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or values.get("itemprop")
                   or "").strip().lower()
            if key and "content" in values:
                self.meta.setdefault(key, []).append(values["content"].strip())
        elif tag == "title":
            self._in_title = True
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split():
            self.canonical = values.get("href") or None
        elif tag == "script" and values.get("type", "").lower().startswith("application/ld+json"):
            self._in_ld, self._buffer = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "script" and self._in_ld:
            self.ld.append("".join(self._buffer))
            self._in_ld = False

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self._buffer.append(data)
        elif self._in_title:
            self.title += data


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(html.unescape(str(value)).split())
    return text or None


def _walk_ld(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk_ld(item)
    elif isinstance(node, Mapping):
        yield node
        for key in ("@graph", "mainEntity", "itemListElement", "item"):
            if key in node:
                yield from _walk_ld(node[key])


def _types(node: Mapping[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1].lower() for k in kinds if k}


def _images(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [str(value.get("url") or value.get("contentUrl") or "")] if (
            value.get("url") or value.get("contentUrl")) else []
    if isinstance(value, list):
        return [u for item in value for u in _images(item)]
    return []


def _price(offers: Any) -> dict[str, Any] | None:
    for offer in offers if isinstance(offers, list) else [offers]:
        if not isinstance(offer, Mapping):
            continue
        amount = offer.get("price", offer.get("lowPrice"))
        spec = offer.get("priceSpecification")
        if amount is None and isinstance(spec, Mapping):
            amount = spec.get("price")
        if amount is not None:
            currency = offer.get("priceCurrency") or (
                spec.get("priceCurrency") if isinstance(spec, Mapping) else None)
            return {"amount": _clean(amount), "currency": _clean(currency)}
    return None


def _product_ld(blocks: list[str]) -> dict[str, Any]:
    for block in blocks:
        try:
            data = json.loads(block.strip())
        except ValueError:
            continue
        for node in _walk_ld(data):
            if "product" in _types(node) or "productgroup" in _types(node):
                brand = node.get("brand")
                if isinstance(brand, Mapping):
                    brand = brand.get("name")
                elif isinstance(brand, list) and brand:
                    brand = brand[0].get("name") if isinstance(brand[0], Mapping) else brand[0]
                return {"title": _clean(node.get("name")),
                        "description": _clean(node.get("description")),
                        "images": _images(node.get("image")),
                        "price": _price(node.get("offers")), "brand": _clean(brand)}
    return {}


def parse_product(text: str, base_url: str) -> dict[str, Any]:
    """Title, description, images, price and brand from a page's HTML."""
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    meta = parser.meta

    def first(*keys: str) -> str | None:
        for key in keys:
            for value in meta.get(key, []):
                cleaned = _clean(value)
                if cleaned:
                    return cleaned
        return None

    ld = _product_ld(parser.ld)
    sources: dict[str, str] = {}

    def pick(name: str, ld_value: Any, *fallbacks: tuple[str, Any]) -> Any:
        if ld_value:
            sources[name] = "json-ld"
            return ld_value
        for source, value in fallbacks:
            if value:
                sources[name] = source
                return value
        return None

    og_price = first("product:price:amount", "og:price:amount", "product:sale_price:amount")
    og_currency = first("product:price:currency", "og:price:currency")
    # Every image the page names, in order of trust: a shop often gives its product shot as
    # og:image and a lifestyle shot as twitter:image, and both are worth offering.
    image_sources = [("json-ld", ld.get("images") or []),
                     ("open-graph", [*meta.get("og:image", []), *meta.get("og:image:url", [])]),
                     ("twitter", [*meta.get("twitter:image", []),
                                  *meta.get("twitter:image:src", [])])]
    images = [u for _, found in image_sources for u in found]
    used = [name for name, found in image_sources if found]
    if used:
        sources["images"] = "+".join(used)
    base = urljoin(base_url, parser.canonical) if parser.canonical else base_url
    absolute = list(dict.fromkeys(urljoin(base, html.unescape(u.strip())) for u in images
                                  if u and u.strip()))[:MAX_IMAGES]
    return {
        "url": base,
        "title": pick("title", ld.get("title"), ("open-graph", first("og:title")),
                      ("twitter", first("twitter:title")), ("html", _clean(parser.title))),
        "description": pick("description", ld.get("description"),
                            ("open-graph", first("og:description")),
                            ("twitter", first("twitter:description")),
                            ("html", first("description"))),
        "images": absolute,
        "price": pick("price", ld.get("price"), ("open-graph", {
            "amount": og_price, "currency": og_currency} if og_price else None)),
        "brand": pick("brand", ld.get("brand"),
                      ("open-graph", first("product:brand", "og:brand")),
                      ("site", first("og:site_name"))),
        "sources": sources,
    }


def fetch_page(url: str, *, max_bytes: int = MAX_BYTES, time_limit: float = TIME_LIMIT,
               boundary: Boundary | None = None) -> tuple[str, str]:
    """(final URL, text) of a page, refusing more than ``max_bytes`` or ``time_limit`` s.

    A sealed ``boundary`` (``--sandbox``) refuses any non-loopback URL, redirects included.
    """
    import httpx

    if urlsplit(url).scheme not in ("http", "https"):
        raise UsageError(f"--url {url!r}: only http:// and https:// pages can be read")
    boundary = boundary or Boundary()
    boundary.check_outbound(url, "webproducts fetch")
    hooks = guard_hooks(boundary.request_guard("webproducts fetch"))
    deadline = time.monotonic() + time_limit
    try:
        with httpx.Client(follow_redirects=True, max_redirects=5,
                          timeout=httpx.Timeout(time_limit), event_hooks=hooks,
                          trust_env=trust_environment(url),
                          headers={"User-Agent": _USER_AGENT, "Accept": "text/html,*/*"}
                          ) as http, http.stream("GET", url) as response:
            if response.status_code >= 400:
                raise APIConnectionError(f"{url} answered {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise UsageError(f"{url} is {int(declared):,} bytes; the limit is "
                                 f"{max_bytes:,}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise UsageError(f"{url} is larger than {max_bytes:,} bytes; stopped")
                if time.monotonic() > deadline:
                    raise APIConnectionError(f"{url} took longer than {time_limit:g}s; stopped")
                chunks.append(chunk)
            return str(response.url), _decode(b"".join(chunks), response.charset_encoding)
    except httpx.TimeoutException:
        raise APIConnectionError(f"{url} took longer than {time_limit:g}s; stopped") from None
    except httpx.HTTPError as exc:
        raise APIConnectionError(f"cannot read {url}: {exc}") from None


def _decode(data: bytes, charset: str | None) -> str:
    """The page's text in its declared charset; UTF-8 when it names none or one Python does
    not know (a page saying ``charset=x-unknown`` is still read, never a traceback)."""
    import codecs

    encoding = "utf-8"
    if charset:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            encoding = "utf-8"
    return data.decode(encoding, errors="replace")


def fetch_product(url: str, *, max_bytes: int = MAX_BYTES, time_limit: float = TIME_LIMIT,
                  boundary: Boundary | None = None) -> dict[str, Any]:
    final, text = fetch_page(url, max_bytes=max_bytes, time_limit=time_limit,
                             boundary=boundary)
    return parse_product(text, final)
