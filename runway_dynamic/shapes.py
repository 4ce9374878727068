"""Nested fields: the shapes an object field takes, and building its value from parts.

A body field such as ``voice`` is an object, or a ``oneOf`` of objects each pinned by a
constant (``{"type": "runway-preset", "presetId": ...}`` or ``{"type": "custom", "id": ...}``).
People should not have to write that JSON by hand, so this module reads the shapes from the
schema (no field or model name is known here) and puts a value together:

- :func:`leaves` lists what can be set below a field, at any depth (``presetId``,
  ``voice.id``), with its schema over the shapes that have it, and which shapes those are.
- :func:`assemble` builds the object from values given per leaf: the shape is the one that
  takes every leaf given (its constants, such as ``type``, are filled in); several or none
  is a :class:`~runway_dynamic._exceptions.ShapeError` naming the shapes and what picks each.
- :func:`shorthand` reads one plain value as the whole object where a shape has one field to
  fill (``face.png`` → ``{"type": "image", "uri": "face.png"}``; an image file picks the
  shape whose media field takes images).
- :func:`pairs` reads ``name=value`` parts joined by commas (``still.png,seconds=2``) where
  no single value fills a shape: the item of a list, which has no dotted flags of its own.
- :func:`object_from_text` is these together for a value typed as text: JSON when it looks
  like JSON, else pairs, else the shorthand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from runway_dynamic._exceptions import ShapeError, UsageError
from runway_dynamic._frozen import Frozen
from runway_dynamic.catalog import (
    Schema,
    flatten_object,
    literal_value,
    media_facts,
    schema_choices,
    schema_kind,
)
from runway_dynamic.coerce import from_text, parse_json
from runway_dynamic.naming import kebab

#: How deep leaves are listed below a field (a spec is untrusted input: keep it bounded).
MAX_DEPTH = 4
#: Shapes considered per object (a ``oneOf`` wider than this is left to JSON).
MAX_SHAPES = 16

LeafPath = tuple[str, ...]


class Shape(Frozen):
    """One object alternative of a field: its properties, what it requires, its constants."""

    _fields = ("properties", "required", "constants", "label")
    properties: Mapping[str, Schema]
    required: tuple[str, ...]
    constants: Mapping[str, Any]
    #: What people call it: its distinguishing constant (``runway-preset``), else a number.
    label: str

    def __init__(self, properties: Mapping[str, Schema], required: tuple[str, ...],
                 constants: Mapping[str, Any], label: str) -> None:
        self._set(properties=properties, required=required, constants=constants, label=label)

    @property
    def primary(self) -> str | None:
        """The one field a single value fills (``uri``, ``presetId``), if there is one: the
        only required property that is not a constant (or the only property at all)."""
        free = [name for name in self.required if name not in self.constants]
        if len(free) == 1:
            return free[0]
        if not free:
            others = [name for name in self.properties if name not in self.constants]
            return others[0] if len(others) == 1 else None
        return None

    def accepts(self, values: Mapping[str, Any]) -> bool:
        """Whether values already given (``type`` in a JSON base) agree with its constants."""
        return all(values[name] == constant for name, constant in self.constants.items()
                   if name in values)


def object_shapes(schema: Schema) -> tuple[Shape, ...]:
    """The object alternatives of ``schema`` (through ``oneOf``/``anyOf``/``allOf``); empty
    when it is no object with named properties (a free-form map stays JSON)."""
    found = list(_object_branches(schema, 0))[:MAX_SHAPES]
    flat = [flatten_object(branch) for branch in found]
    flat = [(props, req) for props, req in flat if props]
    constants = [{name: literal_value(sub) for name, sub in props.items()
                  if literal_value(sub) is not None} for props, _ in flat]
    tag = _tag_name(constants)
    shapes = []
    for index, ((props, required), pinned) in enumerate(zip(flat, constants, strict=True)):
        label = str(pinned[tag]) if tag is not None else f"shape {index + 1}"
        shapes.append(Shape(props, required, pinned, label))
    return tuple(shapes)


def _object_branches(schema: Schema, depth: int) -> Iterator[Schema]:
    branches = [b for b in (*schema.get("oneOf", ()), *schema.get("anyOf", ()))
                if isinstance(b, Mapping)]
    if branches and depth < MAX_DEPTH:
        for branch in branches:
            yield from _object_branches(branch, depth + 1)
        return
    if schema_kind(schema) == "object" or "allOf" in schema:
        yield schema


def _tag_name(constants: Sequence[Mapping[str, Any]]) -> str | None:
    """The constant every shape has with a different value (``type``), if any."""
    if len(constants) < 2:
        return next(iter(constants[0]), None) if constants and len(constants[0]) == 1 else None
    common = set(constants[0]).intersection(*constants[1:])
    for name in sorted(common):
        values = [c[name] for c in constants]
        if len(set(map(repr, values))) == len(values):
            return name
    return None


def tag_of(schema: Schema) -> str | None:
    """The property whose constant tells the shapes apart (``type``), if any."""
    shapes = object_shapes(schema)
    if len(shapes) < 2:
        return None
    return _tag_name([s.constants for s in shapes])


# --------------------------------------------------------------------------- leaves


class Leaf(Frozen):
    """Something settable below a field: its path, its schema over the shapes that have it
    (``anyOf`` of the different ones), whether it is a constant, and in which shapes."""

    _fields = ("path", "schema", "shapes", "is_tag", "required")
    path: LeafPath
    schema: Schema
    #: The shape names on the way down, where a level has several (``("text", "preset")``).
    shapes: tuple[str, ...]
    #: It pins the shape (``type``): giving it chooses the shape; otherwise it is filled in.
    is_tag: bool
    #: Required in every shape that has it (at its own level).
    required: bool

    def __init__(self, path: LeafPath, schema: Schema, shapes: tuple[str, ...], is_tag: bool,
                 required: bool) -> None:
        self._set(path=path, schema=schema, shapes=shapes, is_tag=is_tag, required=required)


def leaves(schema: Schema) -> tuple[Leaf, ...]:
    """Every settable path below an object field, parents before children: scalars, lists,
    and nested objects too (these take JSON or a single value, see :func:`shorthand`)."""
    out: list[Leaf] = []
    _walk(schema, (), (), out, 0)
    return tuple(out)


def find_leaf(schema: Schema, names: Sequence[str]) -> Leaf | None:
    """The leaf below an object field that ``names`` spell, each part by its spec name or in
    kebab case as the dotted flags write it (``("preset-id",)`` → ``presetId``)."""
    wanted = tuple(kebab(name) for name in names)
    for leaf in leaves(schema):
        if len(leaf.path) == len(names) and (
                leaf.path == tuple(names) or tuple(kebab(p) for p in leaf.path) == wanted):
            return leaf
    return None


def _walk(schema: Schema, path: LeafPath, where: tuple[str, ...], out: list[Leaf],
          depth: int) -> None:
    shapes = object_shapes(schema)
    if not shapes or depth >= MAX_DEPTH:
        return
    tag = tag_of(schema) if len(shapes) > 1 else None
    names: dict[str, list[Shape]] = {}
    for shape in shapes:
        for name in shape.properties:
            names.setdefault(name, []).append(shape)
    for name, having in names.items():
        subs: list[Schema] = []
        for shape in having:
            sub = shape.properties[name]
            if sub not in subs:
                subs.append(sub)
        merged: Schema = subs[0] if len(subs) == 1 else {"anyOf": subs}
        constant = all(name in shape.constants for shape in having)
        if constant and name != tag:
            continue  # pinned in every shape that has it: always filled in, nothing to set
        partial = len(having) < len(shapes) and name != tag
        labels = tuple(s.label for s in having) if partial else ()
        here = (*where, "|".join(labels)) if labels else where
        out.append(Leaf((*path, name), merged, here, name == tag,
                        all(name in s.required for s in having)))
        if name != tag and len(subs) == 1:
            _walk(subs[0], (*path, name), here, out, depth + 1)


# --------------------------------------------------------------------------- building


def assemble(schema: Schema, base: Any, given: Mapping[LeafPath, Any],
             path: Sequence[str | int] = ()) -> dict[str, Any]:
    """The object for ``schema`` from ``base`` (a JSON value already given, or ``None``) and
    the values ``given`` per leaf path, constants of the chosen shape filled in.

    >>> assemble(voice_schema, None, {("presetId",): "Maya"})
    {'type': 'runway-preset', 'presetId': 'Maya'}

    :class:`ShapeError` when the leaves fit no shape, or several that differ in a constant.
    """
    shapes = object_shapes(schema)
    start: dict[str, Any] = dict(base) if isinstance(base, Mapping) else {}
    direct = {p[0]: v for p, v in given.items() if len(p) == 1}
    deeper: dict[str, dict[LeafPath, Any]] = {}
    for p, v in given.items():
        if len(p) > 1:
            deeper.setdefault(p[0], {})[p[1:]] = v
    names = [*direct, *(n for n in deeper if n not in direct)]
    if not shapes:
        return {**start, **direct}
    known = {**start, **direct}
    fits = [s for s in shapes if set(names) <= set(s.properties) and s.accepts(known)]
    if len(fits) > 1:  # the values may tell: a .mp4 for uri picks the video shape
        told = [s for s in fits if all(_fits(s.properties[n], v) for n, v in direct.items()
                                       if isinstance(v, str))]
        fits = told or fits
    chosen = _choose(shapes, fits, names, path, given)
    out = {name: value for name, value in chosen.constants.items() if name not in start}
    out.update(start)
    out.update(direct)
    for name, sub_given in deeper.items():
        sub_schema = chosen.properties[name]
        inner = out.get(name)
        out[name] = assemble(sub_schema, inner, sub_given, (*path, name))
    return out


def _choose(shapes: Sequence[Shape], fits: Sequence[Shape], names: Sequence[str],
            path: Sequence[str | int], given: Mapping[LeafPath, Any]) -> Shape:
    if len(fits) == 1 or (fits and all(f.constants == fits[0].constants for f in fits)):
        return fits[0]
    tag = _tag_name([s.constants for s in shapes]) if len(shapes) > 1 else None
    shown = [(*path, *p) for p in given]
    if not fits:
        raise ShapeError(path, "no_shape", [(s.label, _settable(s, path)) for s in shapes],
                         tag=(*path, tag) if tag else None, given=shown)
    raise ShapeError(path, "ambiguous", [(s.label, _only_in(s, fits, path)) for s in fits],
                     tag=(*path, tag) if tag else None, given=shown)


def _settable(shape: Shape, path: Sequence[str | int]) -> list[tuple[str | int, ...]]:
    return [(*path, name) for name in shape.properties if name not in shape.constants]


def _only_in(shape: Shape, among: Sequence[Shape],
             path: Sequence[str | int]) -> list[tuple[str | int, ...]]:
    """What only ``shape`` takes of ``among`` (what a person would give to pick it)."""
    others = {n for s in among if s is not shape for n in s.properties}
    return [p for p in _settable(shape, path) if p[-1] not in others] or _settable(shape, path)


def shorthand(schema: Schema, value: str, path: Sequence[str | int] = ()) -> dict[str, Any] | None:
    """``value`` as the whole object, where a shape has one field to fill (its *primary*);
    ``None`` when no shape has one. Among several shapes the value picks the one it fits
    (an enum it is in, the media type a file or URL has, a pattern it matches).

    :class:`ShapeError` when it fits several shapes that differ, or none of several.
    """
    shapes = object_shapes(schema)
    candidates = [s for s in shapes if s.primary is not None]
    if not candidates:
        return None
    fits = [s for s in candidates if _fits(s.properties[s.primary or ""], value)]
    if not fits and len(candidates) == 1:
        fits = candidates  # let pre-flight say what is wrong with the value, by field
    if len(fits) == 1 or (fits and all(f.constants == fits[0].constants for f in fits)):
        shape = fits[0]
        return {**shape.constants, shape.primary or "": value}
    tag = _tag_name([s.constants for s in shapes]) if len(shapes) > 1 else None
    among = fits or candidates
    raise ShapeError(path, "ambiguous" if fits else "no_shape",
                     [(s.label, [(*path, s.primary or "")]) for s in among],
                     tag=(*path, tag) if tag else None, value=value)


def _fits(schema: Schema, value: str) -> bool:
    """Whether a text value could be what ``schema`` wants (a cheap, local guess)."""
    choices = schema_choices(schema)
    if choices is not None:
        return value in {str(c) for c in choices}
    facts = media_facts(schema)
    if facts is not None:
        mime = media_type(value)
        prefix = facts.data_mime_prefix
        return mime is None or prefix is None or mime.startswith(prefix)
    kind = schema_kind(schema)
    if kind in ("integer", "number"):
        try:
            float(value)
        except ValueError:
            return False
        return True
    if kind not in ("string", "any"):
        return False
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            return re.search(pattern, value) is not None
        except re.error:
            return True
    return True


def media_type(value: str) -> str | None:
    """The media type a file name, URL or ``data:`` URI shows (``image/png``), if any."""
    if value[:5].lower() == "data:":
        return value[5:].split(";", 1)[0].split(",", 1)[0] or None
    import mimetypes  # here: its tables load only when a value is looked at

    where = urlparse(value).path if "://" in value else value
    return mimetypes.guess_type(where)[0]


def pairs(schema: Schema, text: str, where: str,
          path: Sequence[str | int] = ()) -> dict[str, Any] | None:
    """``text`` as ``name=value`` parts joined by commas, names being the leaves below
    ``schema`` (``range.end_seconds``); ``None`` when it names none.

    A first part without a name is the one required field the named parts leave unfilled
    (``still.png,seconds=2`` → ``{"uri": "still.png", "seconds": 2}``). Only a comma before
    a known name splits, so a ``data:`` URI's own comma stays in its value. Names are
    spelled as in the spec or in kebab case, as dotted flags and :func:`find_leaf` take them.
    """
    settable = {spelled: leaf for leaf in leaves(schema)
                for spelled in (".".join(leaf.path), ".".join(kebab(p) for p in leaf.path))}
    if not settable:
        return None
    names = "|".join(re.escape(name) for name in sorted(settable, key=len, reverse=True))
    parts = re.split(rf",(?=(?:{names})=)", text)
    named = re.compile(rf"({names})=(.*)\Z", re.DOTALL)
    given: dict[LeafPath, Any] = {}
    bare: str | None = None
    for index, part in enumerate(parts):
        found = named.match(part)
        if found is None:
            if index:  # only the first part may go without a name (the regex split it off)
                raise UsageError(f"{where}: {part!r} is not name=value")
            bare = part
            continue
        leaf = settable[found.group(1)]
        if leaf.path in given:
            raise UsageError(f"{where}: {found.group(1)} is given twice")
        given[leaf.path] = value_from_text(leaf.schema, found.group(2), where,
                                           (*path, *leaf.path))
    if not given:
        return None
    if bare is not None:
        name = _left_to_fill(schema, {p[0] for p in given}, text, where)
        given[(name,)] = value_from_text(
            next(s.properties[name] for s in object_shapes(schema) if name in s.properties),
            bare, where, (*path, name))
    return assemble(schema, None, given, path)


def _left_to_fill(schema: Schema, named: set[str], text: str, where: str) -> str:
    """The one required field the shapes that take ``named`` leave to a value without a
    name; :class:`UsageError` naming each shape's fields when they disagree or leave none."""
    shapes = [s for s in object_shapes(schema) if named <= set(s.properties)]
    left = set()
    for shape in shapes:
        free = [n for n in shape.required if n not in shape.constants and n not in named]
        if len(free) == 1:
            left.add(free[0])
    if len(left) == 1:
        return left.pop()
    raise UsageError(f"{where}: {text!r} fits none of its forms, {pairs_forms(schema)}")


def pairs_forms(schema: Schema) -> str:
    """What :func:`pairs` takes for ``schema``, shape by shape, for help and messages."""
    forms = []
    for shape in object_shapes(schema):
        required = [n for n in shape.required if n not in shape.constants]
        optional = [".".join((n, *leaf.path)) if leaf else n
                    for n, sub in shape.properties.items()
                    if n not in shape.constants and n not in shape.required
                    for leaf in (leaves(sub) or (None,)) if leaf is None or len(leaf.path) == 1]
        form = ",".join(f"{n}=…" for n in required)
        forms.append(form + (f" [{','.join(f'{n}=…' for n in optional)}]" if optional else ""))
    return "name=value pairs joined by commas: " + " or ".join(dict.fromkeys(forms))


def object_from_text(schema: Schema, text: str, where: str,
                     path: Sequence[str | int] = ()) -> Any:
    """A value typed as text for an object field: JSON when it starts with ``{`` (or is not
    a plain value), else :func:`pairs`, else :func:`shorthand`; :class:`UsageError` naming
    ``where`` when it is none of them."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return parse_json(text, where)
    built = pairs(schema, text, where, path)
    if built is not None:
        return built
    built = shorthand(schema, text, path)
    if built is not None:
        return built
    try:
        return parse_json(text, where)
    except UsageError:
        if not object_shapes(schema):
            raise
        raise UsageError(f"{where}: {text!r} is not JSON, and no single field takes it; "
                         f"give JSON or {pairs_forms(schema)}") from None


def value_from_text(schema: Schema, raw: Any, where: str,
                    path: Sequence[str | int] = ()) -> Any:
    """The JSON value ``raw`` stands for in a field with ``schema``: objects through
    :func:`object_from_text`, lists item by item, everything else by its JSON kind."""
    kind = schema_kind(schema)
    if isinstance(raw, list):
        items = schema.get("items")
        if kind == "array" and isinstance(items, Mapping):
            return [value_from_text(items, item, where, (*path, i)) for i, item in enumerate(raw)]
        return raw
    if isinstance(raw, str) and kind == "object" and object_shapes(schema):
        return object_from_text(schema, raw, where, path)
    return from_text(raw, kind, where)
