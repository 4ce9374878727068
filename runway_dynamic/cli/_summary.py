"""A short read-out of a JSON answer: its figures first, then one table per keyed map.

Nothing here knows an answer's field names. Labels come from the keys (camelCase → words).
A *keyed map* is an object whose values are all objects (limits per model id); keyed maps
with the same name anywhere in the answer are joined on their keys, so a tier's limits and
the usage of the same models make one row. A field ``maxX`` beside a field ``x`` of the
same row reads as "x used of max, and what is left". The full answer stays one flag away
(``--all``/``--json``): a summary drops detail on purpose.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runway_dynamic.naming import kebab

_MAX = "max"


def words(key: str) -> str:
    """``maxDailyGenerations`` → ``max daily generations``."""
    return kebab(key).replace("-", " ").replace("_", " ")


def number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}"


@dataclass
class _KeyedMap:
    name: str
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)


def _is_keyed_map(value: Any) -> bool:
    return (isinstance(value, Mapping)
            and all(isinstance(v, Mapping) and v and all(not isinstance(x, Mapping | list)
                                                         for x in v.values())
                    for v in value.values()))


def _walk(data: Mapping[str, Any], path: tuple[str, ...], figures: list[tuple[str, Any]],
          maps: dict[str, _KeyedMap]) -> None:
    for key, value in data.items():
        here = (*path, key)
        if isinstance(value, Mapping) and (_is_keyed_map(value) if value else key in maps):
            joined = maps.setdefault(key, _KeyedMap(key))
            for row_key, row in value.items():
                joined.rows.setdefault(str(row_key), {}).update(row)
        elif isinstance(value, Mapping):
            _walk(value, here, figures, maps)
        elif isinstance(value, list):
            figures.append((" ".join(words(k) for k in here), f"{len(value)} item(s)"))
        else:
            figures.append((" ".join(words(k) for k in here), value))


def _pairs(columns: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """``[(used column, max column)]`` and the columns left alone."""
    lower = {c.lower(): c for c in columns}
    pairs: list[tuple[str, str]] = []
    paired: set[str] = set()
    for column in columns:
        if column.lower().startswith(_MAX) and len(column) > len(_MAX):
            used = lower.get(column[len(_MAX):].lower())
            if used is not None:
                pairs.append((used, column))
                paired.update((used, column))
    return pairs, [c for c in columns if c not in paired]


def _cells(row: Mapping[str, Any], pairs: list[tuple[str, str]], single: list[str]
           ) -> list[str]:
    cells = []
    for used, limit in pairs:
        have, most = row.get(used, 0), row.get(limit)
        if isinstance(have, int | float) and isinstance(most, int | float):
            cells.append(f"{number(have)} of {number(most)} ({number(most - have)} left)")
        else:
            cells.append(f"{number(have)} of {number(most) if most is not None else '?'}")
    cells += [number(row[c]) if c in row else "" for c in single]
    return cells


def _table(keyed: _KeyedMap, top: int) -> list[str]:
    columns: list[str] = []
    for row in keyed.rows.values():
        columns += [c for c in row if c not in columns]
    pairs, single = _pairs(columns)
    headers = ([f"{words(used)} (used of max)" for used, _ in pairs]
               + [words(c) for c in single])
    used_of = {key: sum(row.get(u, 0) for u, _ in pairs
                        if isinstance(row.get(u, 0), int | float))
               for key, row in keyed.rows.items()}
    if pairs:  # the rows in use stand out, busiest first
        busy = sorted((k for k in keyed.rows if used_of[k]), key=lambda k: (-used_of[k], k))
    else:  # the rows that differ from the most common one stand out
        shape = {k: tuple(row.get(c) for c in columns) for k, row in keyed.rows.items()}
        common = Counter(shape.values()).most_common(1)[0][0] if shape else ()
        busy = [k for k in keyed.rows if shape[k] != common]
    shown, rest = busy[:top], [k for k in keyed.rows if k not in busy[:top]]
    lines = [f"{words(keyed.name)}: {len(keyed.rows)}"
             + (f", {len(busy)} in use" if pairs else "")]
    if shown:
        name = words(keyed.name)
        name = name[:-1] if name.endswith("s") and not name.endswith("ss") else name
        width = [max(len(name), *(len(k) for k in shown))]
        rows = [[k, *_cells(keyed.rows[k], pairs, single)] for k in shown]
        width += [max(len(h), *(len(r[i + 1]) for r in rows)) for i, h in enumerate(headers)]
        for line in [[name, *headers], *rows]:
            cells = (c.ljust(w) for c, w in zip(line, width, strict=True))
            lines.append(("  " + "  ".join(cells)).rstrip())
    if rest:
        lines.append(f"  {_rest(keyed, rest, pairs, single, bool(shown))}")
    return lines


def _rest(keyed: _KeyedMap, rest: list[str], pairs: list[tuple[str, str]], single: list[str],
          others: bool) -> str:
    """One line for the rows not shown: their shared values, when they share them."""
    who = f"{'the other ' if others else 'all '}{len(rest)}"
    shared = []
    for used, limit in pairs:
        maxima = {keyed.rows[k].get(limit) for k in rest}
        shared.append(f"{words(used)} 0 of {number(maxima.pop())}" if len(maxima) == 1
                      else f"{words(used)} 0")
    for column in single:
        values = {keyed.rows[k].get(column) for k in rest}
        if len(values) == 1 and (value := values.pop()) is not None:
            shared.append(f"{words(column)} {number(value)}")
    unused = " unused" if pairs else ""
    varied = len(shared) < len(pairs) + len(single)
    tail = " (values vary: --all lists them)" if varied else ""
    return f"{who}{unused}" + (": " + ", ".join(shared) if shared else "") + tail


def summarize(data: Any, *, top: int = 10) -> list[str]:
    """The lines of a summary of ``data`` (a JSON object; anything else is shown as is)."""
    if not isinstance(data, Mapping):
        return [str(data)]
    figures: list[tuple[str, Any]] = []
    maps: dict[str, _KeyedMap] = {}
    _walk(data, (), figures, maps)
    lines = []
    if figures:
        width = max(len(label) for label, _ in figures)
        lines += [f"{label.ljust(width)}  {number(value)}" for label, value in figures]
    for keyed in maps.values():
        lines += ["", *_table(keyed, top)]
    return lines
