"""Bounds on spec input: a spec is untrusted input (a file, a URL, a ``spec pull``).

Every bound is decided here, and every breach is one :class:`SpecLimitError` line naming
the bound. The values, and why:

==================  ==========  ==============================================================
limit               default     why
==================  ==========  ==============================================================
spec-max-bytes      16 MiB      Runway's official spec is 1.1 MB: 15x headroom. Applies to the
                                bytes read or downloaded, and to what YAML aliases expand to
                                (aliases may not build a document larger than one we would
                                accept written out). ``RUNWAY_SPEC_MAX_BYTES`` changes it.
yaml-aliases        1,000       anchors shared by hand are a handful; a billion-laughs
                                document needs many references (and is stopped by size first).
schema-depth        64          nesting levels of one derived schema (JSON objects and arrays):
                                Runway's deepest is ~20. It keeps every recursive walker
                                (ours, jsonschema's, orjson's 255-level writer) far from its
                                own limit.
index-max-bytes     4 x spec    the derived index (and what ``$ref`` reuse expands to while it
                                is derived): Runway's is 250 KB for a 1.1 MB spec.
==================  ==========  ==============================================================

A recursive YAML document (an alias inside its own anchor) and a ``$ref`` cycle that never
descends into a value (``A: {$ref: B}``, ``B: {$ref: A}``) are refused outright: they
describe no finite value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runway_dynamic._constants import ENV_SPEC_MAX_BYTES
from runway_dynamic._exceptions import SpecLimitError, UsageError
from runway_dynamic._frozen import Frozen

MIB = 1024 * 1024
DEFAULT_MAX_SPEC_BYTES = 16 * MIB
MAX_YAML_ALIASES = 1_000
MAX_SCHEMA_DEPTH = 64
INDEX_SIZE_FACTOR = 4


class SpecLimits(Frozen):
    """The bounds one load works under (see the module docstring for the values)."""

    _fields = ("max_bytes", "max_aliases", "max_depth")
    max_bytes: int
    max_aliases: int
    max_depth: int

    def __init__(self, max_bytes: int = DEFAULT_MAX_SPEC_BYTES,
                 max_aliases: int = MAX_YAML_ALIASES,
                 max_depth: int = MAX_SCHEMA_DEPTH) -> None:
        self._set(max_bytes=max_bytes, max_aliases=max_aliases, max_depth=max_depth)

    @property
    def max_index_bytes(self) -> int:
        return INDEX_SIZE_FACTOR * self.max_bytes

    def too_large(self, size: int, source: str | None, what: str = "spec") -> SpecLimitError:
        return SpecLimitError(
            f"{what} is larger than {_size(self.max_bytes)} ({ENV_SPEC_MAX_BYTES} raises it)",
            limit="spec-max-bytes", maximum=self.max_bytes, source=source)


def current() -> SpecLimits:
    """The limits in force: the defaults, with ``RUNWAY_SPEC_MAX_BYTES`` when it is set."""
    raw = os.environ.get(ENV_SPEC_MAX_BYTES)
    if not raw:
        return SpecLimits()
    return SpecLimits(max_bytes=parse_size(raw, ENV_SPEC_MAX_BYTES))


def parse_size(raw: str, name: str) -> int:
    """``16777216``, ``16M``, ``16MiB``, ``512k`` → bytes; :class:`UsageError` otherwise."""
    text = raw.strip().lower().removesuffix("ib").removesuffix("b")
    scale = {"k": 1024, "m": MIB, "g": 1024 * MIB}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    try:
        value = int(float(number) * scale)
    except ValueError:
        raise UsageError(f"{name} takes a size in bytes (or with K, M, G), got {raw!r}") from None
    if value <= 0:
        raise UsageError(f"{name} must be more than 0 bytes, got {raw!r}")
    return value


def _size(n: int) -> str:
    return f"{n / MIB:g} MiB" if n >= MIB else f"{n:,} bytes"


# --------------------------------------------------------------------------- measuring


class Measure:
    """Expanded size (approximate JSON bytes) and nesting of shared object graphs.

    Parsed documents and derived schemas share objects (YAML aliases, reused ``$ref``
    targets); serialising them writes every use out again. Sizes are memoised per object,
    so measuring costs what the distinct objects cost, never what the expansion would.
    """

    def __init__(self) -> None:
        # id -> (weight, height); the objects are kept alive by the graph being measured.
        self._memo: dict[int, tuple[int, int]] = {}
        #: Containers reached again through another reference (aliases, reuse).
        self.shared_uses = 0

    def of(self, root: Any) -> tuple[int, int]:
        """``(weight, height)`` of ``root``; :class:`ValueError` on a cycle."""
        memo = self._memo
        if not isinstance(root, (dict, list)):
            return _scalar_weight(root), 0
        if id(root) in memo:
            return memo[id(root)]
        active: set[int] = set()
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            key = id(node)
            if done:
                active.discard(key)
                weight, height = 2, 0
                children = node.items() if isinstance(node, dict) else enumerate(node)
                for name, child in children:
                    if isinstance(child, (dict, list)):
                        w, h = memo[id(child)]
                    else:
                        w, h = _scalar_weight(child), 0
                    weight += w + (len(name) + 4 if isinstance(name, str) else 1)
                    height = max(height, h)
                memo[key] = (weight, height + 1)
                continue
            if key in memo:
                self.shared_uses += 1
                continue
            if key in active:
                raise ValueError("cycle")
            active.add(key)
            stack.append((node, True))
            values = node.values() if isinstance(node, dict) else node
            for child in values:
                if isinstance(child, (dict, list)):
                    if id(child) in active:
                        raise ValueError("cycle")
                    stack.append((child, False))
        return memo[id(root)]


def _scalar_weight(value: Any) -> int:
    return len(value) + 2 if isinstance(value, str) else 8


def check_yaml_document(document: Any, limits: SpecLimits, source: str) -> None:
    """Refuse a parsed YAML document whose aliases are too many, expand too far, or recurse.

    (JSON has no aliases: its size is the size of its bytes, already bounded. Nor has YAML
    text without an anchor ``&``: :mod:`runway_dynamic.sources` skips this walk for it.)
    """
    measure = Measure()
    try:
        weight, _ = measure.of(document)
    except ValueError:
        raise SpecLimitError("YAML alias refers to its own anchor (a document without end)",
                             limit="yaml-aliases", maximum=limits.max_aliases,
                             source=source) from None
    if measure.shared_uses > limits.max_aliases:
        raise SpecLimitError(f"YAML uses {measure.shared_uses:,} aliases of mappings or lists",
                             limit="yaml-aliases", maximum=limits.max_aliases, source=source)
    if weight > limits.max_bytes:
        raise SpecLimitError(
            f"YAML aliases expand the document beyond {_size(limits.max_bytes)} "
            f"({ENV_SPEC_MAX_BYTES} raises it)",
            limit="spec-max-bytes", maximum=limits.max_bytes, source=source)


class ExpansionBudget:
    """What deriving a catalog may add by writing shared objects out again.

    Charged for each extra use of a shared schema (a reused ``$ref`` target, a base merged
    into every branch, ``$defs`` attached to every schema that needs them); refuses once the
    total passes the index limit, long before anything that large is built or written.
    """

    def __init__(self, limits: SpecLimits, source: str) -> None:
        self.limits = limits
        self.source = source
        self.spent = 0
        self._measure = Measure()

    def height(self, schema: Any) -> int:
        return self._measure.of(schema)[1]

    def charge(self, schema: Any) -> None:
        if not isinstance(schema, (Mapping, list)):
            return
        self.spent += self._measure.of(schema)[0]
        if self.spent > self.limits.max_index_bytes:
            raise SpecLimitError(
                f"shared schemas expand the derived index beyond "
                f"{_size(self.limits.max_index_bytes)} (4x {ENV_SPEC_MAX_BYTES})",
                limit="index-max-bytes", maximum=self.limits.max_index_bytes,
                source=self.source)

    def too_deep(self, where: str) -> SpecLimitError:
        return SpecLimitError(f"a schema of {where} is nested more than "
                              f"{self.limits.max_depth} levels deep",
                              limit="schema-depth", maximum=self.limits.max_depth,
                              source=self.source)
