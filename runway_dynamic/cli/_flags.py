"""What one spec-derived flag accepts: its type, help text and value conversion.

Which flag a field gets is decided by the command builder
(:class:`runway_dynamic.cli._options.CommandOptions`); this module says, for a field
option, what typer parses it as, how help describes it, and how its text becomes the JSON
value for the variant the body selects.

For an operation with variants (models) a field option is the union over the variants. A
flag whose type differs between variants (``duration``: integer here, number there) is
taken as text and converted for the variant the body's discriminator selects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import RATIO_PROPERTY
from runway_dynamic._exceptions import UsageError
from runway_dynamic.catalog import Field, agreed_kind, schema_kind
from runway_dynamic.coerce import from_text, unchecked_from_text

if TYPE_CHECKING:
    from runway_dynamic.shapes import Leaf

_SCALARS = {"string": str, "integer": int, "number": float, "boolean": bool}
_METAVAR = {"string": "TEXT", "integer": "INT", "number": "NUMBER", "boolean": "BOOL",
            "object": "JSON", "any": "TEXT|JSON", "array": "VALUE", "mixed": "VALUE"}
_MAX_LISTED = 8


class FieldOption:
    """One spec-derived option: the field it sets, where its value goes, what it accepts."""

    __slots__ = ("fields", "flag", "help_override", "kind", "location", "metavar_override",
                 "name", "param", "required_for")

    def __init__(self, name: str, location: str, fields: Mapping[str | None, Field]) -> None:
        self.name = name
        self.location = location
        #: The field per variant key (``None`` for a plain body or a parameter).
        self.fields = dict(fields)
        kinds = {f.kind for f in self.fields.values()}
        self.kind = kinds.pop() if len(kinds) == 1 else "mixed"
        self.required_for = tuple(k for k, f in self.fields.items() if f.required)
        #: Set by the command builder, the only place that names flags.
        self.flag = ""
        #: The Python identifier typer sees (flag names are not identifiers).
        self.param = ""
        #: A command's own words for this option (``--model``'s default), if any.
        self.help_override: str | None = None
        self.metavar_override: str | None = None

    def __repr__(self) -> str:
        return f"FieldOption({self.location}:{self.name} {self.flag})"

    @property
    def first(self) -> Field:
        return next(iter(self.fields.values()))

    @property
    def item_kind(self) -> str | None:
        if self.kind != "array":
            return None
        items = {schema_kind(f.schema.get("items") or {}) for f in self.fields.values()}
        return items.pop() if len(items) == 1 else "any"

    @property
    def is_list(self) -> bool:
        return self.kind == "array" or (
            self.kind == "mixed" and any(f.kind == "array" for f in self.fields.values())
        )

    def choices(self) -> tuple[Any, ...] | None:
        """The values any variant allows, when every variant has a closed set."""
        found: list[Any] = []
        for f in self.fields.values():
            if f.choices is None:
                return None
            found.extend(f.choices)
        return tuple(dict.fromkeys(found))

    def suggestions(self) -> tuple[Any, ...] | None:
        """The values any variant names (closed sets and open enums' known values), for
        completion; ``None`` when no variant names any."""
        found = [v for f in self.fields.values() for v in f.suggestions or ()]
        return tuple(dict.fromkeys(found)) or None

    def python_type(self) -> Any:
        """The type typer parses the flag as; JSON-ish and mixed flags stay text."""
        if self.kind in ("string", "integer", "number", "boolean"):
            return _SCALARS[self.kind]
        if self.is_list:
            item = self.item_kind if self.kind == "array" else None
            scalar: Any = _SCALARS.get(item or "", str)
            return list[scalar] if item in ("string", "integer", "number") else list[str]
        return str

    def metavar(self) -> str:
        filled = self.filled_by_one_value()
        if filled is not None:
            return "FILE|URL|JSON" if filled == "media" else "VALUE|JSON"
        if self.kind == "array":
            if self.item_kind == "object" and self._items_have_fields():
                return "PAIRS|JSON"
            return _METAVAR.get(self.item_kind or "any", "VALUE")
        return _METAVAR[self.kind]

    def _items_have_fields(self) -> bool:
        """Whether its items are objects with named fields (``name=value`` pairs fill them)."""
        from runway_dynamic.shapes import object_shapes

        return any(isinstance(items := f.schema.get("items"), Mapping) and object_shapes(items)
                   for f in self.fields.values())

    def filled_by_one_value(self) -> str | None:
        """For an object field (or a list of objects) whose shapes have one field to fill:
        ``media`` when that field takes a file or URL, else ``value``; ``None`` otherwise."""
        if self.kind not in ("object", "array"):
            return None
        from runway_dynamic.catalog import media_facts
        from runway_dynamic.shapes import object_shapes

        kinds: set[str] = set()
        for field in self.fields.values():
            schema = field.schema
            if self.kind == "array":
                items = schema.get("items")
                if not isinstance(items, Mapping) or schema_kind(items) != "object":
                    return None
                schema = items
            for shape in object_shapes(schema):
                if shape.primary is not None:
                    kinds.add("media" if media_facts(shape.properties[shape.primary])
                              else "value")
        if not kinds:
            return None
        return "media" if kinds == {"media"} else "value"

    def help(self, variant_keys: Sequence[str | None]) -> str:
        """One line: location, required-ness, which models, type and limits, choices."""
        parts: list[str] = []
        if self.location != "body":
            parts.append(f"[{self.location}]")
        keyed = [k for k in variant_keys if k is not None]
        present = [k for k in self.fields if k is not None]
        if self.required_for:
            everywhere = not keyed or len(self.required_for) == len(keyed)
            parts.append("Required." if everywhere else
                         f"Required for {_listing(self.required_for)}.")
        if keyed and len(present) < len(keyed):
            parts.append(f"Only {_listing(present)}.")
        parts.append(self.describe())
        return " ".join(parts)

    def describe(self) -> str:
        schemas = [f.schema for f in self.fields.values()]
        if all(s == schemas[0] for s in schemas):
            return describe_field(self.first)
        choices = self.choices()
        if choices is not None:
            return _one_of(choices)
        suggested = self.suggestions()
        if suggested is not None:
            opened = [str(k) for k, f in self.fields.items() if f.open_values]
            if len(opened) == len(self.fields):
                return _suggested(suggested)
            named = [str(k) for k, f in self.fields.items() if f.suggestions]
            text = f"One of: {_listing(suggested, _MAX_LISTED)} for {_listing(named, 3)}"
            if opened:
                text += f"; open (other values accepted) for {_listing(opened)}"
            unnamed = [f for f in self.fields.values() if not f.suggestions]
            if unnamed:  # models that take a range or a plain type, not named values
                types = " or ".join(sorted({f.kind for f in unnamed}))
                text += f"; {_article(types)} for the other models"
                text += " (limits vary by model)" if len(unnamed) > 1 else ""
            return text + "."
        kinds = sorted({f.kind for f in self.fields.values()})
        if len(kinds) == 1:
            return _kind_text(self.first) + "; limits vary by model."
        return f"{' or '.join(kinds).capitalize()}, by model."


def _article(words: str) -> str:
    return ("an " if words[:1] in "aeiou" else "a ") + words


class NestedOption(FieldOption):
    """A dotted flag (``--voice.preset-id``): one leaf below an object body field, per
    variant the schema the leaf has over the field's shapes."""

    __slots__ = ("is_tag", "leaf", "leaves", "parent")

    def __init__(self, parent: FieldOption, leaf: tuple[str, ...],
                 leaves: Mapping[str | None, Leaf]) -> None:
        super().__init__(parent.name, parent.location, {
            key: Field(leaf[-1], found.required, found.schema) for key, found in leaves.items()})
        self.parent = parent
        self.leaf = leaf
        self.leaves = dict(leaves)
        self.is_tag = any(found.is_tag for found in leaves.values())
        self.required_for = ()

    def __repr__(self) -> str:
        return f"NestedOption({self.name}.{'.'.join(self.leaf)} {self.flag})"

    def schema_for(self, variant_key: str | None) -> Mapping[str, Any]:
        return (self.fields.get(variant_key) or self.first).schema

    def shape_labels(self) -> tuple[str, ...]:
        """The shapes that have this leaf (empty: all of them)."""
        found = [part for leaf in self.leaves.values() for where in leaf.shapes
                 for part in where.split("|")]
        return tuple(dict.fromkeys(found))

    def help(self, variant_keys: Sequence[str | None]) -> str:
        parts: list[str] = []
        keyed = [k for k in variant_keys if k is not None]
        present = [k for k in self.fields if k is not None]
        if keyed and len(present) < len(keyed):
            parts.append(f"Only {_listing(present)}.")
        where = [" > ".join(leaf.shapes) for leaf in self.leaves.values() if leaf.shapes]
        if where:
            parts.append(f"In {' or '.join(dict.fromkeys(where))}.")
        if self.is_tag:
            parts.append("Chooses the shape; filled in when the other flags given fit one.")
        elif any(leaf.required for leaf in self.leaves.values()):
            parts.append("Required in its shape.")
        parts.append(self.describe())
        return " ".join(parts)


def _listing(values: Sequence[Any], limit: int = 6) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def _one_of(choices: Sequence[Any]) -> str:
    if len(choices) == 1:
        return f"Always {choices[0]}."
    return f"One of: {_listing(choices, _MAX_LISTED)}."


def _suggested(values: Sequence[Any]) -> str:
    """An open enum: the known values, and that others pass too."""
    return f"Suggested: {_listing(values, _MAX_LISTED)} (open: other values accepted)."


def describe_field(field: Field, *, ratios_listed: bool = False) -> str:
    """What a field accepts, in a few words (type, limits, choices, media schemes)."""
    if ratios_listed and field.name == RATIO_PROPERTY and field.suggestions is not None:
        return ("One of the ratios below." if field.choices is not None else
                "Text: the ratios below are suggestions (open: other values accepted).")
    if field.choices is not None:
        return _one_of(field.choices)
    if field.suggestions is not None:
        return _suggested(field.suggestions)
    bounds = field.bounds()
    kind = field.kind
    text = _kind_text(field)
    low = bounds.get("minimum", bounds.get("exclusiveMinimum"))
    high = bounds.get("maximum", bounds.get("exclusiveMaximum"))
    if kind in ("integer", "number") and (low is not None or high is not None):
        text += f" {'' if low is None else low}..{'' if high is None else high}"
    if kind == "string" and field.media is None and (
        "minLength" in bounds or "maxLength" in bounds
    ):
        text += f", {bounds.get('minLength', 0)}..{bounds.get('maxLength', '')} characters"
    if kind == "string" and "format" in bounds:
        text += f" ({bounds['format']})"
    if kind == "array" and ("minItems" in bounds or "maxItems" in bounds):
        text += f", {bounds.get('minItems', 0)}..{bounds.get('maxItems', '')} items"
    if field.deprecated:
        text += " (deprecated)"
    return text + "."


def _one_value(schema: Mapping[str, Any]) -> str | None:
    """``a file or URL for its uri``: what one plain value fills in an object, if anything."""
    from runway_dynamic.catalog import media_facts
    from runway_dynamic.shapes import object_shapes

    filled = [s.primary for s in object_shapes(schema) if s.primary is not None]
    if not filled:
        return None
    names = " or ".join(dict.fromkeys(filled))
    media = all(media_facts(s.properties[s.primary]) for s in object_shapes(schema)
                if s.primary is not None)
    return f"{'a file or URL' if media else 'one value'} for its {names}"


def _kind_text(field: Field) -> str:
    kind = field.kind
    if field.media is not None:
        text = "URI (" + ", ".join(s + ":" for s in field.media.schemes) + ")"
        return text + (", or JSON when it starts with [ or {" if kind == "any" else "")
    if kind == "array":
        items = field.schema.get("items") or {}
        item_kind = schema_kind(items)
        one = _one_value(items) if item_kind == "object" else None
        if one is not None:
            return f"A list of objects (repeat the flag), each JSON or {one}"
        if item_kind == "object":
            from runway_dynamic.shapes import object_shapes, pairs_forms

            if object_shapes(items):
                return f"A list of objects (repeat the flag), each JSON or {pairs_forms(items)}"
        of = "JSON values" if item_kind in ("object", "any") else f"{item_kind}s"
        return f"A list of {of} (repeat the flag)"
    return {"string": "Text", "integer": "Integer", "number": "Number", "boolean": "Boolean",
            "object": "JSON object", "any": "Text, or JSON when it starts with [ or {"
            }.get(kind, kind)


# --------------------------------------------------------------------------- values


def value_for(spec: FieldOption, raw: Any, variant_key: str | None) -> Any:
    """The JSON value of a flag the user set, converted for the selected variant; for a
    model the spec does not list, as the listed models agree (:func:`agreed_kind`), and a
    value that does not fit that is read as JSON's numbers and booleans (sent unchecked).
    An object field (or a list of objects) also takes a plain value for its one field to
    fill (:func:`runway_dynamic.shapes.shorthand`)."""
    field = spec.fields.get(variant_key)
    convert = from_text
    if field is None and None not in spec.fields:
        kind = agreed_kind(f.kind for f in spec.fields.values())
        convert = unchecked_from_text
    else:
        kind = field.kind if field is not None else spec.kind
    schema = (field or spec.first).schema if field is not None or spec.kind != "mixed" else None
    if schema is not None and _holds_objects(kind, schema):
        from runway_dynamic.shapes import value_from_text

        if isinstance(raw, list) and kind != "array":
            if len(raw) != 1:
                raise UsageError(f"{spec.flag} takes one value here, got {len(raw)}")
            raw = raw[0]
        return value_from_text(schema, raw, spec.flag, (spec.name,))
    if isinstance(raw, list):
        if kind == "array":
            items = schema_kind((field or spec.first).schema.get("items") or {})
            return [convert(item, items, spec.flag) for item in raw]
        if len(raw) != 1:
            raise UsageError(f"{spec.flag} takes one value here, got {len(raw)}")
        raw = raw[0]
    return convert(raw, kind, spec.flag)


def _holds_objects(kind: str, schema: Mapping[str, Any]) -> bool:
    """An object field, or a list of objects: where a plain value may fill the object."""
    if kind == "object":
        return True
    items = schema.get("items")
    return kind == "array" and isinstance(items, Mapping) and schema_kind(items) == "object"
