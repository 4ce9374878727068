"""Python arguments ↔ the spec's names, for one operation: mapping, signatures, help text.

Keyword arguments are snake_case (``prompt_image``) and are sent under the spec's names
(``promptImage``), nested objects too (``voice={"type": ..., "preset_id": ...}`` sends
``presetId``); spec names are accepted as they are. A key is renamed only where the schema
names a property it stands for: free-form maps (a workflow's node outputs) keep their keys.
Path parameters are positional, in path order. Everything here is pure (no I/O).
"""

from __future__ import annotations

import datetime as _dt
import inspect
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from runway_dynamic._problems import AFTER, Problem
from runway_dynamic.catalog import (
    Operation,
    Schema,
    Variant,
    flatten_object,
    schema_choices,
    schema_kind,
)
from runway_dynamic.naming import python_name

#: Keyword arguments every method takes, as in the official SDK; never a spec field's name.
EXTRA_HEADERS, EXTRA_QUERY, EXTRA_BODY, TIMEOUT = (
    "extra_headers", "extra_query", "extra_body", "timeout")
RESERVED = (EXTRA_HEADERS, EXTRA_QUERY, EXTRA_BODY, TIMEOUT)

_TYPES: Mapping[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool,
                             "array": list, "object": dict}


class _NotGiven:
    """The default of an optional argument: nothing is sent for it (``None`` would be)."""

    _instance: _NotGiven | None = None

    def __new__(cls) -> _NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN: Any = _NotGiven()


@dataclass(frozen=True)
class Argument:
    """One argument of a method: its Python name, the spec's name, and where it goes."""

    python: str
    spec: str
    location: str  # path, query, header or body
    required: bool
    schema: Schema = field(repr=False)


def branches(schema: Schema) -> Iterator[Schema]:
    """The alternatives of a schema, through nested ``anyOf``/``oneOf``."""
    nested = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if not nested:
        yield schema
        return
    for branch in nested:
        if isinstance(branch, Mapping):
            yield from branches(branch)


def object_properties(schema: Schema) -> dict[str, Schema]:
    """Property schemas of every object alternative of ``schema`` (first one wins)."""
    out: dict[str, Schema] = {}
    for branch in branches(schema):
        for name, sub in flatten_object(branch)[0].items():
            out.setdefault(name, sub if isinstance(sub, Mapping) else {})
    return out


def array_items(schema: Schema) -> Schema:
    for branch in branches(schema):
        items = branch.get("items")
        if isinstance(items, Mapping):
            return items
    return {}


def spec_key(key: str, properties: Mapping[str, Any]) -> str:
    """The property ``key`` stands for: itself, or the one whose Python name it is."""
    if key in properties:
        return key
    for name in properties:
        if python_name(name) == key:
            return name
    return key


def plain(value: Any) -> Any:
    """A value as JSON carries it: paths as text, dates in ISO 8601, results as their JSON."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, Mapping):
        return to_dict()
    return value


def to_spec(value: Any, schema: Schema) -> Any:
    """``value`` with keys renamed to the spec's property names, as deep as the schema says."""
    value = plain(value)
    if isinstance(value, Mapping):
        properties = object_properties(schema)
        out = {}
        for key, sub in value.items():
            name = spec_key(str(key), properties) if properties else key
            out[name] = to_spec(sub, properties.get(name, {}))
        return out
    if isinstance(value, (list, tuple)):
        items = array_items(schema)
        return [to_spec(item, items) for item in value]
    return value


def python_path(path: Sequence[str | int]) -> str:
    """``("voice", "presetId")`` → ``voice.preset_id``; indexes as ``[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (
            f".{python_name(part)}" if out else python_name(part))
    return out


@dataclass(frozen=True)
class Request:
    """What a call sends, in the spec's names (before media and pre-flight)."""

    path_params: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, str]
    body: dict[str, Any] | None
    variant: str | None
    timeout: Any = None


class Arguments:
    """The arguments of one operation, built from the catalog when first needed."""

    def __init__(self, operation: Operation, qualname: str) -> None:
        self.operation = operation
        self.qualname = qualname

    # ---- the table

    @cached_property
    def path(self) -> tuple[Argument, ...]:
        order = re.findall(r"{([^}]+)}", self.operation.path)
        params = {p.name: p for p in self.operation.params("path")}
        return tuple(Argument(python_name(name), name, "path", True, params[name].schema
                              if name in params else {}) for name in order)

    @cached_property
    def params(self) -> tuple[Argument, ...]:
        """Query and header parameters (a header the spec pins is sent by itself)."""
        return tuple(
            Argument(python_name(p.name), p.name, p.location, p.required, p.schema)
            for p in self.operation.parameters
            if p.location == "query" or (p.location == "header" and p.constant is None))

    def body_fields(self, variant: Variant | None) -> tuple[Argument, ...]:
        """Body fields of one variant, or of them all (required only where all require it)."""
        chosen = [variant] if variant is not None else list(self.operation.variants)
        schemas: dict[str, list[Schema]] = {}
        for item in chosen:
            for f in item.fields:
                if f.schema not in schemas.setdefault(f.name, []):
                    schemas[f.name].append(f.schema)
        # a field several models type differently takes any of their values
        return tuple(
            Argument(python_name(name), name, "body",
                     all(name in v.required for v in chosen),
                     found[0] if len(found) == 1 else {"anyOf": found})
            for name, found in schemas.items())

    @cached_property
    def discriminator(self) -> str | None:
        return self.operation.discriminator

    def variant_for(self, key: Any) -> Variant | None:
        if not self.operation.variants:
            return None
        if self.discriminator is None:
            return self.operation.variants[0]
        return self.operation.variant(key) if isinstance(key, str) else None

    @cached_property
    def _by_name(self) -> dict[str, Argument]:
        table: dict[str, Argument] = {}
        for arg in (*self.path, *self.params, *self.body_fields(None)):
            table.setdefault(arg.python, arg)
            table.setdefault(arg.spec, arg)
        return table

    def python_names(self) -> dict[str, str]:
        """Spec name → Python name for every argument of the operation."""
        return {a.spec: a.python for a in (*self.path, *self.params, *self.body_fields(None))}

    # ---- a call

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Request:
        """The request for ``method(*args, **kwargs)``; :class:`TypeError` as Python gives
        for a wrong number of positional arguments or an unknown one where there is no body."""
        kwargs = {k: v for k, v in kwargs.items() if v is not NOT_GIVEN}
        extra_headers = kwargs.pop(EXTRA_HEADERS, None) or {}
        extra_query = kwargs.pop(EXTRA_QUERY, None) or {}
        extra_body = kwargs.pop(EXTRA_BODY, None) or {}
        timeout = kwargs.pop(TIMEOUT, None)
        if len(args) > len(self.path):
            raise TypeError(f"{self.qualname}() takes {len(self.path)} positional "
                            f"argument{'s' if len(self.path) != 1 else ''} but {len(args)} "
                            "were given")
        path_params: dict[str, Any] = {}
        for arg, value in zip(self.path, args, strict=False):
            path_params[arg.spec] = value
        query: dict[str, Any] = {}
        headers: dict[str, str] = {}
        given_body: dict[str, Any] = {}
        for key, value in kwargs.items():
            found = self._by_name.get(key)
            if found is not None and found.location == "path":
                arg = found
                if arg.spec in path_params:
                    raise TypeError(f"{self.qualname}() got multiple values for argument "
                                    f"{arg.python!r}")
                path_params[arg.spec] = value
            elif found is not None and found.location == "query":
                query[found.spec] = to_spec(value, found.schema)
            elif found is not None and found.location == "header":
                headers[found.spec] = str(plain(value))
            elif self.operation.variants:
                given_body[key] = value
            else:
                raise TypeError(f"{self.qualname}() got an unexpected keyword argument {key!r}")
        missing = [a.python for a in self.path if a.spec not in path_params]
        if missing:
            raise TypeError(f"{self.qualname}() missing required argument"
                            f"{'s' if len(missing) > 1 else ''}: "
                            + ", ".join(repr(m) for m in missing))
        for name, value in path_params.items():
            if value is None or str(value) == "":
                raise ValueError(f"{self.qualname}(): {python_name(name)} must be non-empty")
        body: dict[str, Any] | None = None
        variant_key: str | None = None
        if self.operation.variants:
            top = object_properties({"oneOf": [v.schema for v in self.operation.variants]})
            disc = self.discriminator
            key_value = next((plain(v) for k, v in given_body.items()
                              if disc is not None and spec_key(k, top) == disc), None)
            variant = self.variant_for(key_value)
            variant_key = variant.key if variant is not None else None
            schema = variant.schema if variant is not None else {
                "oneOf": [v.schema for v in self.operation.variants]}
            body = to_spec(given_body, schema)
            body.update({str(k): plain(v) for k, v in dict(extra_body).items()})
        elif extra_body:
            body = {str(k): plain(v) for k, v in dict(extra_body).items()}
        query.update({str(k): plain(v) for k, v in dict(extra_query).items()})
        headers.update({str(k): str(v) for k, v in dict(extra_headers).items()})
        return Request(path_params, query, headers, body, variant_key, timeout)

    # ---- what a person sees

    def signature(self, model: str | None = None) -> inspect.Signature:
        """Keyword parameters from the spec (one model's fields, or every model's)."""
        variant = self.variant_for(model) if model is not None else None
        params = [inspect.Parameter(a.python, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=str) for a in self.path]
        seen = {a.python for a in self.path}
        fields = sorted(self.body_fields(variant), key=lambda a: a.spec != self.discriminator)
        for arg in (*self.params, *fields):
            if arg.python in seen or arg.python in RESERVED:
                continue
            seen.add(arg.python)
            annotation = _annotation(arg.schema)
            if arg.spec == self.discriminator:
                keys = (model,) if model is not None else tuple(
                    v.key for v in self.operation.variants if isinstance(v.key, str))
                annotation = Literal[keys] if keys else str
            params.append(inspect.Parameter(
                arg.python, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                **({} if arg.required else {"default": NOT_GIVEN})))
        params += [
            inspect.Parameter(EXTRA_HEADERS, inspect.Parameter.KEYWORD_ONLY, default=None,
                              annotation="Mapping[str, str] | None"),
            inspect.Parameter(EXTRA_QUERY, inspect.Parameter.KEYWORD_ONLY, default=None,
                              annotation="Mapping[str, object] | None"),
            inspect.Parameter(EXTRA_BODY, inspect.Parameter.KEYWORD_ONLY, default=None,
                              annotation="Mapping[str, object] | None"),
            inspect.Parameter(TIMEOUT, inspect.Parameter.KEYWORD_ONLY, default=None,
                              annotation="float | None"),
        ]
        return inspect.Signature(params)

    def doc(self, what: str) -> str:
        """The help text: the operation, then every argument per model, from the spec."""
        op = self.operation
        lines = [f"{op.method} {op.path}: {what}", ""]
        if self.path:
            lines.append("Positional: " + ", ".join(a.python for a in self.path))
        if self.params:
            lines.append("Parameters:")
            lines += [f"  {_describe(a)}" for a in self.params]
        variants = [v for v in op.variants if v.key is not None] if self.discriminator else []
        if variants:
            disc = python_name(self.discriminator or "")
            lines.append(f"Models ({disc}=): " + ", ".join(str(v.key) for v in variants))
            for v in variants:
                fields = [a for a in self.body_fields(v) if a.spec != self.discriminator]
                lines += ["", f"{disc}={v.key!r}:"]
                lines += [f"  {_describe(a)}" for a in fields]
        elif op.variants:
            lines.append("Arguments:")
            lines += [f"  {_describe(a)}" for a in self.body_fields(None)]
        lines += ["", "Every method also takes extra_headers=, extra_query=, extra_body= and "
                  "timeout= (seconds). Local file paths are accepted where a media URI is."]
        return "\n".join(lines)

    # ---- pre-flight in Python's words

    @cached_property
    def _property_names(self) -> set[str]:
        names: set[str] = set()

        def walk(schema: Any, depth: int = 0) -> None:
            if not isinstance(schema, Mapping) or depth > 12:
                return
            for branch in branches(schema):
                for name, sub in flatten_object(branch)[0].items():
                    names.add(name)
                    walk(sub, depth + 1)
                walk(branch.get("items"), depth + 1)

        for variant in self.operation.variants:
            walk(variant.schema)
        return names

    def describe(self, problem: Problem) -> str:
        """A pre-flight problem's sentence with every field named as a Python argument
        (``voice.preset_id``), never as a spec name or a command-line flag."""
        message = "".join(
            part if isinstance(part, str) else "" if part.form == AFTER
            else python_path(part.path) for part in problem.text)
        names = self._property_names

        def rename(match: re.Match[str]) -> str:  # a spec name quoted in the sentence
            word = match.group(1)
            return f"'{python_name(word)}'" if word in names else match.group(0)

        return re.sub(r"'([A-Za-z_][A-Za-z0-9_]*)'", rename, message)


def _annotation(schema: Schema) -> Any:
    choices = schema_choices(schema)
    if choices and all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in choices):
        return Literal[tuple(choices)]
    from runway_dynamic.catalog import media_facts

    if media_facts(schema) is not None:
        return "str | os.PathLike[str]"
    return _TYPES.get(schema_kind(schema), Any)


def _describe(arg: Argument) -> str:
    schema = arg.schema
    kind = schema_kind(schema)
    choices = schema_choices(schema)
    text = f"{arg.python} ({kind}{', required' if arg.required else ''})"
    if choices:
        shown = ", ".join(str(c) for c in choices[:12])
        text += f": one of {shown}" + (" …" if len(choices) > 12 else "")
    else:
        from runway_dynamic.catalog import media_facts

        facts = media_facts(schema)
        if facts is not None:
            text += ": a URI (" + ", ".join(s + ":" for s in facts.schemes) + ") or a local file"
    bounds = [f"{k}={schema[k]}" for k in ("minimum", "maximum", "maxLength") if k in schema]
    if bounds:
        text += " [" + ", ".join(bounds) + "]"
    return text
