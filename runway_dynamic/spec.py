"""``Spec``: the public face of the spec engine (source chain + cached catalog + pre-flight).

>>> spec = load_spec()                      # --spec / RUNWAY_SPEC / pulled / bundled
>>> spec.models("text_to_video")
['gen4.5', 'veo3.1', ...]
>>> spec.preflight("text_to_video", {"model": "gen4.5", "promptText": "a cat"})
[Problem(kind='missing_field', field='ratio', ...), ...]
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from runway_dynamic import cache
from runway_dynamic._exceptions import CacheError
from runway_dynamic.catalog import Catalog, Field, Operation, build_catalog
from runway_dynamic.sources import SpecDocument, SpecSource, load_document

if TYPE_CHECKING:
    from runway_dynamic.validation import Problem, Validator


class Spec:
    """A loaded spec: where it came from, its hash, and the catalog derived from it."""

    def __init__(self, document: SpecDocument, catalog: Catalog, *, cache_note: str | None = None):
        self.document = document
        self.catalog = catalog
        #: Why the derived index could not be cached (shown as a warning), if it could not.
        self.cache_note = cache_note

    # ---- construction

    @classmethod
    def load(cls, source: str | os.PathLike[str] | None = None, *, use_cache: bool = True) -> Spec:
        """Load by the source chain; reuse the on-disk index when the spec is unchanged."""
        return cls.from_document(load_document(source), use_cache=use_cache)

    @classmethod
    def from_document(cls, document: SpecDocument, *, use_cache: bool = True) -> Spec:
        with _collector_paused():
            return cls._from_document(document, use_cache=use_cache)

    @classmethod
    def _from_document(cls, document: SpecDocument, *, use_cache: bool) -> Spec:
        if use_cache:
            cached = cache.load_index(document.index_key)
            if cached is not None:
                try:
                    return cls(document, Catalog.from_dict(cached))
                except (KeyError, TypeError, ValueError, AttributeError):
                    pass  # stale or corrupt: rebuild below
        catalog = build_catalog(document.document, source=document.source.location,
                                sha256=document.sha256)
        note = None
        if use_cache:
            try:
                cache.store_index(document.index_key, catalog.to_dict(),
                                  source=document.source.location)
            except CacheError as exc:
                note = f"derived index not cached: {exc}"
        return cls(document, catalog, cache_note=note)

    @classmethod
    def from_bytes(cls, data: bytes, origin: str = "<bytes>", *, use_cache: bool = False) -> Spec:
        """A spec from raw JSON/YAML bytes (tests, tools, embedded specs)."""
        document = SpecDocument(SpecSource("bytes", origin), data)
        return cls.from_document(document, use_cache=use_cache)

    # ---- facts

    @property
    def source(self) -> SpecSource:
        return self.document.source

    @property
    def sha256(self) -> str:
        """The spec's sha256: as the index recorded it when the catalog came from there
        (its key is the digest of these very bytes), else computed now."""
        return self.catalog.sha256 or self.document.sha256

    @property
    def api_version(self) -> str | None:
        return self.catalog.api_version

    def endpoints(self) -> list[str]:
        """Endpoints whose bodies are discriminated by ``model``."""
        return self.catalog.endpoints()

    def models(self, endpoint: str | None = None) -> list[str]:
        return self.catalog.models(endpoint)

    def endpoints_for(self, model: str) -> list[str]:
        return self.catalog.endpoints_for(model)

    def fields(self, endpoint: str, model: str) -> dict[str, list[Field]]:
        """``{"required": [...], "optional": [...]}`` fields of one (endpoint, model)."""
        found = self.catalog.fields(endpoint, model)
        return {
            "required": [f for f in found if f.required],
            "optional": [f for f in found if not f.required],
        }

    def ratios(self, endpoint: str, model: str) -> list[str] | None:
        return self.catalog.ratios(endpoint, model)

    def models_accepting(self, endpoint: str, ratio: str) -> list[str]:
        return self.catalog.models_accepting(ratio, endpoint).get(endpoint, [])

    def operation(self, endpoint: str, method: str | None = None) -> Operation | None:
        return self.catalog.operation(endpoint, method)

    # ---- pre-flight

    @cached_property
    def validator(self) -> Validator:
        from runway_dynamic.validation import Validator

        return Validator(self.catalog)

    def preflight(
        self, endpoint: str, body: Mapping[str, Any], *, method: str | None = None,
        allow_unknown_model: bool = False,
    ) -> list[Problem]:
        """Every problem with ``body`` for ``endpoint`` (warnings included); empty when fine.
        ``allow_unknown_model``: a near miss of a listed model id is a warning, not an error."""
        return list(self.validator.iter_problems(endpoint, body, method=method,
                                                 allow_unknown_model=allow_unknown_model))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a spec loads, as it was after.

    Loading allocates tens of thousands of dicts and lists (a parsed YAML document, the
    derived schemas, a decoded index) and makes next to no garbage, so every collection
    pass it triggers walks them for nothing: a third of a cold YAML load, 7% of a warm one.
    Whatever cycle it does make is collected by the next pass after.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def load_spec(source: str | os.PathLike[str] | None = None, *, use_cache: bool = True) -> Spec:
    """Load the spec by the source chain: ``source`` → ``RUNWAY_SPEC`` → pulled → bundled."""
    return Spec.load(source, use_cache=use_cache)
