"""Pre-flight validation: every problem with a request body, found before any paid call.

Only the variant the discriminator selects is validated (fast, and the errors are about
the right schema). One compiled validator per (endpoint, method, variant), built on first
use. A problem names the field by its path in the body and says the fix (how a field is
called on a command line or in a tool is the presenter's business: see
:meth:`Problem.render`); a model id the spec does not know passes through with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import RATIO_PROPERTY
from runway_dynamic._exceptions import PreflightError, SpecError
from runway_dynamic._problems import (
    AFTER,
    ERROR,
    WARNING,
    FieldName,
    FieldPath,
    Problem,
    errors,
    render_path,
    says,
)
from runway_dynamic._verdict import VALID, explain, verdict
from runway_dynamic.catalog import (
    Catalog,
    Operation,
    Variant,
    closest_ratios,
    flatten_object,
    json_type,
    literal_value,
    media_facts,
)
from runway_dynamic.naming import closest

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

__all__ = ["ERROR", "WARNING", "Problem", "Validator", "errors", "render_path"]


class Validator:
    """Validates request bodies against a catalog; compiled schemas are cached per variant."""

    def __init__(self, catalog: Catalog, *, compiled: bool = True, plain: bool = True) -> None:
        """``compiled``: decide validity with a compiled validator (jsonschema-rs) first and
        run python-jsonschema only to explain a body it refuses; ``False`` always explains
        (the oracle the tests compare the fast path with). ``plain``: before the compiled
        validator, let :mod:`runway_dynamic._verdict` accept a body it can judge for sure
        (no import, no compilation); ``False`` leaves the verdict to jsonschema-rs (the
        tests compare all three paths)."""
        self.catalog = catalog
        self._plain = plain
        self._compiled: dict[
            tuple[str, str, str | None], tuple[Any, list[tuple[FieldPath, str, str]]]
        ] = {}
        self._fast: dict[tuple[str, str, str | None], _FastPath | None] | None = (
            {} if compiled else None)
        self._operations: dict[tuple[str, str | None], Operation | None] = {}
        #: Per variant, what a refused ratio's message repeats: the sentence's fixed tail
        #: (``is not accepted by M on E; it accepts: …``) and the accepted list.
        self._ratio_text: dict[tuple[str, str, str | None], tuple[str, list[str]]] = {}
        #: Per variant, the sentence of each missing required field and the values it
        #: takes when the spec closes them (made once).
        self._missing_text: dict[tuple[str, str, str | None], dict[str, _Missing]] = {}

    # ---- public

    def check(self, endpoint: str, body: Any, *, method: str | None = None,
              allow_unknown_model: bool = False) -> list[Problem]:
        return list(self.iter_problems(endpoint, body, method=method,
                                       allow_unknown_model=allow_unknown_model))

    def validate(
        self, endpoint: str, body: Any, *, method: str | None = None,
        also: Iterable[Problem] = (),
        describe: Callable[[Problem], dict[str, Any]] | None = None,
        allow_unknown_model: bool = False,
    ) -> list[Problem]:
        """Check ``body``; raise :class:`PreflightError` once with every problem (``also``,
        problems the caller found, first) when any is an error; else return the warnings.

        ``describe`` is how the caller presents a problem (see :class:`PreflightError`).
        """
        problems = [*also, *self.iter_problems(endpoint, body, method=method,
                                               allow_unknown_model=allow_unknown_model)]
        if errors(problems):
            op = self._operation(endpoint, method)
            raise PreflightError(op.endpoint if op else endpoint, problems, describe=describe)
        return problems

    def iter_problems(
        self, endpoint: str, body: Any, *, method: str | None = None,
        allow_unknown_model: bool = False,
    ) -> Iterator[Problem]:
        """Yield every problem of ``body`` for ``endpoint``; nothing when it is fine.

        A model id the spec does not list passes with a warning, unless it is a near miss
        of a listed one (:meth:`Catalog.near_misses`): that is an error, nothing is sent
        for a typo, unless ``allow_unknown_model`` says the caller means it.
        """
        op = self._operation(endpoint, method)
        if op is None:
            yield self._unknown_endpoint(endpoint, method)
            return
        if not op.variants:
            if body not in (None, {}):
                yield Problem("invalid_body",
                              says(f"{op.method} {op.endpoint} takes no request body"))
            return
        if not isinstance(body, Mapping):
            yield Problem("invalid_body", says(
                f"the request body must be a JSON object, got {_json_type_name(body)}"))
            return
        variant = yield from self._select_variant(op, body, allow_unknown_model)
        if variant is None:
            return
        yield from self._variant_problems(op, variant, body)

    # ---- selection

    def _operation(self, endpoint: str, method: str | None) -> Operation | None:
        key = (endpoint, method)
        if key not in self._operations:
            self._operations[key] = self._find_operation(endpoint, method)
        return self._operations[key]

    def _find_operation(self, endpoint: str, method: str | None) -> Operation | None:
        ops = self.catalog.operations_for(endpoint)
        if method:
            ops = [op for op in ops if op.method == method.upper()]
        elif len(ops) > 1:
            ops = [op for op in ops if op.variants] or ops
        return ops[0] if ops else None

    def _unknown_endpoint(self, endpoint: str, method: str | None) -> Problem:
        if method and self.catalog.operations_for(endpoint):
            methods = [op.method for op in self.catalog.operations_for(endpoint)]
            return Problem(
                "unknown_endpoint",
                says(f"{endpoint} has no {method.upper()} operation; it takes "
                     f"{', '.join(methods)}"),
                suggestions=tuple(methods),
            )
        names = closest(endpoint, self.catalog.all_endpoints())
        hint = f"; did you mean {', '.join(names)}?" if names else ""
        return Problem("unknown_endpoint", says(f"unknown endpoint {endpoint!r}{hint}"),
                       suggestions=tuple(names))

    def _select_variant(
        self, op: Operation, body: Mapping[str, Any], allow_unknown_model: bool = False
    ) -> Iterator[Problem] | Any:  # a generator returning the chosen variant
        if op.discriminator is None:
            return op.variants[0]
        prop = op.discriminator
        where = (prop,)
        keys = [v.key for v in op.variants if v.key is not None]
        if prop not in body:  # an explicit null is present but wrong: invalid_value below
            yield Problem(
                "missing_field",
                says("missing required field ", FieldName(where),
                     f"; {op.endpoint} accepts: " + ", ".join(keys)),
                where, suggestions=tuple(keys),
            )
            return None
        value = body[prop]
        chosen = op.variant(str(value)) if isinstance(value, str) else None
        if chosen is not None:
            return chosen
        unpinned = op.variant(None)
        if unpinned is not None:
            return unpinned  # a branch that takes any value the others do not name
        if not op.is_model_endpoint or not isinstance(value, str):
            yield Problem(
                "invalid_value",
                says(FieldName(where), f" must be one of: {', '.join(keys)}; got {value!r}"),
                where, suggestions=tuple(keys),
            )
            return None
        serving = self.catalog.endpoints_for(value)
        if serving:
            yield Problem(
                "wrong_endpoint",
                says(f"model {value!r} is not served by {op.endpoint}; it is served by "
                     f"{', '.join(serving)}. Models for {op.endpoint}: {', '.join(keys)}"),
                where, suggestions=tuple(serving),
                details={"servedBy": serving, "endpointModels": keys},
            )
            return None
        yield self._unknown_model(where, value, keys, allow_unknown_model)
        return None

    def _unknown_model(self, where: FieldPath, value: str, keys: list[str],
                       allow: bool) -> Problem:
        """A model id the spec does not list: an error when it is a near miss of a listed
        one (unless ``allow``), else a warning (sent unchecked)."""
        misses = self.catalog.near_misses(value)
        if misses and not allow:
            here = [m for m in misses if m in keys] or misses
            return Problem(
                "unknown_model",
                says(f"model {value!r} is not in the spec; did you mean "
                     f"{', '.join(here)}?"),
                where, variant=value, suggestions=tuple(here),
                details={"nearMiss": here},
            )
        near = misses or closest(value, keys)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        return Problem(
            "unknown_model",
            says(f"model {value!r} is not in the spec{hint}; sending it unchecked"),
            where, variant=value, suggestions=tuple(near), severity=WARNING,
        )

    # ---- variant checks

    def _variant_problems(
        self, op: Operation, variant: Variant, body: Mapping[str, Any]
    ) -> Iterator[Problem]:
        fields = variant.field_map
        key = variant.key
        missing = [name for name in variant.required if name not in body]
        if missing:
            texts = self._missing_sentences(op, variant)
            for name in missing:
                text, choices = texts[name]
                yield Problem("missing_field", text, (name,), variant=key,
                              suggestions=choices)
        ratio_reported = False
        ratios = variant.ratios
        given = body.get(RATIO_PROPERTY)
        if ratios is not None and isinstance(given, str) and given not in ratios:
            ratio_reported = True
            yield self._ratio_problem(op, variant, given, ratios)
        open_object = "additionalProperties" not in variant.schema and not variant.schema.get(
            "allOf"
        )
        if open_object:
            for name in body:
                if name not in fields:
                    takers = _takers(op, name)
                    near = [] if takers else closest(name, fields)
                    hint: list[str | FieldName] = []
                    for index, other in enumerate(near):
                        hint += [", " if index else "; did you mean ", FieldName((other,))]
                    yield Problem(
                        "unknown_field",
                        says(f"{name!r} is not a field of {_variant_name(op, variant)}",
                             _taken_by(takers), *hint, "?" if near else ""),
                        (name,), variant=key, suggestions=tuple(near), severity=WARNING,
                    )
        fast = self._fast_validator(op, variant)
        # The first body of a variant (a command's only one): a plain schema's errors as
        # python-jsonschema lists them, with no validator library to load
        # (runway_dynamic._verdict.explain). Later bodies (batches, servers): the compiled
        # verdict first (~1 µs), and the plain explanation for a body it refuses. Else
        # python-jsonschema explains.
        found: list[Any] | None = None
        if fast is not None:
            warm = fast.seen()
            if warm and fast.nothing_left(body, ratio_reported, plain=False):
                return
            found = fast.explain(body)
            if found is None and not warm and fast.nothing_left(body, ratio_reported):
                return  # the schema has nothing to add to what the checks above said
        if found is None:
            validator, unchecked = self._validator(op, variant)
            for where, pattern, reason in unchecked:
                if where and where[0] in body:
                    yield Problem(
                        "unchecked_pattern",
                        says(FieldName(where), f": the spec's pattern {_short(pattern)} is "
                             f"not a valid regular expression ({reason}); the value is not "
                             "checked against it here"),
                        where, variant=key, severity=WARNING,
                    )
            try:
                found = list(validator.iter_errors(body))
            except _UNCHECKABLE as exc:
                what = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
                raise SpecError(f"the spec's schema for {_variant_name(op, variant)} cannot "
                                f"be checked ({what})") from None
        for error in found:
            if error.validator == "required" and not error.absolute_path:
                continue  # reported above, one problem per field
            if ratio_reported and list(error.absolute_path)[:1] == [RATIO_PROPERTY]:
                continue
            yield from self._schema_problems(op, variant, error)

    def _missing_sentences(self, op: Operation, variant: Variant) -> dict[str, _Missing]:
        """``missing required field NAME`` of each required field of the variant, with
        ``; one of: …`` when the spec closes its values (so the fix is in the message), made
        on its first refusal (the sentence parts are immutable, so they are shared)."""
        key = (op.endpoint, op.method, variant.key)
        texts = self._missing_text.get(key)
        if texts is None:
            texts = {}
            for name in variant.required:
                choices = variant.field_map[name].choices or ()
                tail = f"; one of: {', '.join(map(str, choices))}" if choices else ""
                texts[name] = (("missing required field ", FieldName((name,)), tail),
                               tuple(str(c) for c in choices))
            self._missing_text[key] = texts
        return texts

    def _ratio_problem(
        self, op: Operation, variant: Variant, given: str, ratios: Sequence[str]
    ) -> Problem:
        key = (op.endpoint, op.method, variant.key)
        fixed = self._ratio_text.get(key)
        if fixed is None:
            fixed = (f" is not accepted by {variant.key} on {op.endpoint}; it accepts: "
                     f"{', '.join(ratios)}", list(ratios))
            self._ratio_text[key] = fixed
        tail, accepted = fixed
        others = [
            m for m in self.catalog.models_accepting(given, op.endpoint).get(op.endpoint, ())
            if m != variant.key
        ]
        near = closest_ratios(given, ratios)
        if others:
            tail += f". models on {op.endpoint} that accept {given!r}: {', '.join(others)}"
        if near:
            tail += f". closest accepted ratios: {', '.join(near)}"
        return Problem(
            "unsupported_ratio", (f"ratio {given!r}", _RATIO_AFTER, tail),
            _RATIO_PATH, variant=variant.key, suggestions=tuple(near),
            details={"accepted": list(accepted), "otherModels": others, "closest": near},
        )

    def _fast_validator(self, op: Operation, variant: Variant) -> _FastPath | None:
        """The variant's compiled verdict-only validator, or ``None`` (no fast path: off,
        jsonschema-rs missing, a variant with patterns Python cannot check, or a schema the
        compiled validator refuses): then python-jsonschema decides, as it always may."""
        if self._fast is None:
            return None
        key = (op.endpoint, op.method, variant.key)
        if key not in self._fast:
            self._fast[key] = _fast_path(variant.schema, plain=self._plain)
        return self._fast[key]

    def _validator(
        self, op: Operation, variant: Variant
    ) -> tuple[Any, list[tuple[FieldPath, str, str]]]:
        """The compiled validator of a variant, and the patterns it cannot check."""
        key = (op.endpoint, op.method, variant.key)
        compiled = self._compiled.get(key)
        if compiled is None:
            from jsonschema import Draft202012Validator

            schema, unchecked = checkable_schema(variant.schema)
            compiled = (
                Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER),
                unchecked,
            )
            self._compiled[key] = compiled
        return compiled

    def _schema_problems(
        self, op: Operation, variant: Variant, error: ValidationError
    ) -> Iterator[Problem]:
        path = tuple(error.absolute_path)
        key = variant.key
        kind = "invalid_value"
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            props, _ = flatten_object(error.schema)
            for extra in [k for k in error.instance if k not in props]:
                takers = [] if path else _takers(op, str(extra))
                near = [] if takers else closest(str(extra), props)
                hint = _taken_by(takers) + (f"; did you mean {', '.join(near)}?" if near else "")
                name = render_path([*path, extra])
                yield Problem(
                    "unknown_field",
                    says(f"{name!r} is not a field of {_variant_name(op, variant)}{hint}"),
                    (*path, extra), variant=key, suggestions=tuple(near),
                )
            return
        error, path = _innermost(error, path)
        message = _describe(error)
        if (error.validator == "required" and path and isinstance(error.instance, Mapping)
                and path[-1] not in error.instance):
            message = "is required"  # the path names the missing nested field
        suggestions: tuple[str, ...] = ()
        if error.validator == "enum":
            suggestions = tuple(str(v) for v in error.validator_value)
        elif error.validator == "required":
            kind = "missing_field"
        where = FieldName(path) if path else "the request body"
        yield Problem(kind, says(where, f": {message}"), path, variant=key,
                      suggestions=suggestions)


_RATIO_PATH: FieldPath = (RATIO_PROPERTY,)
_RATIO_AFTER = FieldName(_RATIO_PATH, AFTER)


class _FastPath:
    """The verdict of one variant without explanations: first :mod:`runway_dynamic._verdict`
    (pure Python, for the keywords it decides for sure), then the whole schema compiled by
    jsonschema-rs (made on first need, so a body the first accepts costs no import), and,
    made on the first refusal, the schema without what the cheap checks report themselves
    (top-level ``required``; the ``ratio`` property once a refused ratio is reported)."""

    __slots__ = ("_relaxed", "_seen", "_strict", "plain", "schema")

    def __init__(self, schema: Any, *, plain: bool = True) -> None:
        self.schema = schema
        self.plain = plain
        self._strict: list[Any] = []
        self._relaxed: dict[bool, Any] = {}
        self._seen = False

    def seen(self) -> bool:
        """Whether a body of this variant came before (then compiling pays off)."""
        seen, self._seen = self._seen, True
        return seen

    @property
    def strict(self) -> Any:
        """The compiled whole schema, or ``None`` (jsonschema-rs missing or refusing it)."""
        if not self._strict:
            self._strict.append(_compile(self.schema))
        return self._strict[0]

    def explain(self, body: Any) -> list[Any] | None:
        """Every schema error of ``body`` as python-jsonschema lists them, when the plain
        path can reproduce them exactly (:func:`runway_dynamic._verdict.explain`); else
        ``None``."""
        return explain(self.schema, body) if self.plain else None

    def nothing_left(self, body: Any, ratio_reported: bool, *, plain: bool = True) -> bool:
        """Whether the schema finds nothing beyond what the cheap checks reported: a
        missing top-level field, a ratio outside its set. The explaining path skips exactly
        these too, so it need not run (it costs ~100 µs; this ~1-2 µs).

        Valid under the relaxed schema means every error of the whole schema came from
        what it leaves out; otherwise the errors are read one by one (a ``required`` at
        the top inside ``allOf`` is skipped by both paths as well).
        """
        if plain and self.plain and verdict(self.schema, body) is VALID:
            return True
        strict = self.strict
        if strict is None:
            return False
        try:
            if strict.is_valid(body):
                return True
            if ratio_reported not in self._relaxed:
                self._relaxed[ratio_reported] = _compile_relaxed(self.schema, ratio_reported)
            relaxed = self._relaxed[ratio_reported]
            if relaxed is not None and relaxed.is_valid(body):
                return True
            import jsonschema_rs

            for error in strict.iter_errors(body):
                where = error.instance_path
                required = jsonschema_rs.ValidationErrorKind.Required
                if isinstance(error.kind, required) and not where:
                    continue
                if ratio_reported and where[:1] == [RATIO_PROPERTY]:
                    continue
                return False
            return True
        except Exception:  # e.g. a value it cannot read: let the explaining path judge
            return False


def _compile_relaxed(schema: Any, ratio_reported: bool) -> Any:
    """``schema`` without its top-level ``required`` (and, when ``ratio_reported``, with
    any value allowed for ``ratio``), compiled; ``None`` when there is nothing to relax."""
    if not isinstance(schema, Mapping):
        return None
    relaxed = {k: v for k, v in schema.items() if k != "required"}
    properties = schema.get("properties")
    if ratio_reported and isinstance(properties, Mapping) and RATIO_PROPERTY in properties:
        relaxed["properties"] = {**properties, RATIO_PROPERTY: {}}
    if relaxed == schema:
        return None
    return _compile(relaxed)


def _compile(schema: Any) -> Any:
    """A jsonschema-rs validator, or ``None`` (not installed, or it refuses the schema)."""
    try:
        jsonschema_rs = _import_jsonschema_rs()
    except ImportError:
        return None
    try:
        return jsonschema_rs.Draft202012Validator(schema, validate_formats=True,
                                                  retriever=_no_retrieval)
    except Exception:  # a schema it cannot compile: the explaining path decides
        return None


def _fast_path(schema: Any, *, plain: bool = True) -> _FastPath | None:
    """The fast verdict for ``schema`` when it checks exactly what the explaining path
    checks; ``None`` otherwise.

    A variant whose patterns Python cannot compile is left to the explaining path (it warns
    about them); a regex engine difference only ever makes the compiled verdict stricter
    (ECMA's ``\\d``, ``\\w`` and ``$`` match less than Python's), and a stricter "invalid"
    is re-judged by python-jsonschema, so a body is never refused that the oracle accepts.
    (The pure-Python verdict uses Python's ``re``, as the explaining path does.)
    """
    cleaned, unchecked = checkable_schema(schema)
    if unchecked:
        return None
    return _FastPath(cleaned, plain=plain)


def _import_jsonschema_rs() -> Any:
    """``import jsonschema_rs`` without the ``email.utils`` import it makes only to parse its
    own build date (``__build__["info-time"]``): about 5 ms, half its import, on every
    ``--dry-run``. While it loads, ``email.utils`` is :class:`_BuildDateReader`, which
    parses that date itself and hands every other use to the real module."""
    import sys

    loaded = sys.modules.get("jsonschema_rs")
    if loaded is not None or "email.utils" in sys.modules:
        import jsonschema_rs

        return jsonschema_rs
    import email

    reader = _BuildDateReader()
    sys.modules["email.utils"] = reader
    try:
        import jsonschema_rs
    finally:
        if sys.modules.get("email.utils") is reader:
            del sys.modules["email.utils"]
        if getattr(email, "utils", None) is reader:
            del email.utils
    return jsonschema_rs


class _BuildDateReader(ModuleType):
    """A stand-in for ``email.utils`` while jsonschema-rs loads (see
    :func:`_import_jsonschema_rs`): ``parsedate_to_datetime`` of an RFC 2822 date with a
    numeric zone, as the real one returns it; anything else is the real module's."""

    _MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
               "dec")

    def __init__(self) -> None:
        super().__init__("email.utils")

    def __getattr__(self, name: str) -> Any:
        import importlib
        import sys

        if sys.modules.get("email.utils") is self:
            del sys.modules["email.utils"]
        return getattr(importlib.import_module("email.utils"), name)

    def parsedate_to_datetime(self, data: str) -> Any:
        """``Tue, 27 Oct 2026 10:17:51 +0000`` → an aware datetime; other forms: the real
        function's answer."""
        import datetime

        words = data.split()
        try:
            _day_name, day, month, year, clock, zone = words
            hour, minute, second = (int(part) for part in clock.split(":"))
            sign = {"+": 1, "-": -1}[zone[0]]
            if (len(zone) != 5 or not zone[1:].isdigit() or zone == "-0000"
                    or len(year) != 4 or len(clock) != 8):
                raise ValueError(zone)  # "-0000" is naive there; short years are widened
            offset = sign * (int(zone[1:3]) * 3600 + int(zone[3:]) * 60)
            return datetime.datetime(
                int(year), self._MONTHS.index(month.lower()) + 1, int(day), hour, minute,
                second, tzinfo=datetime.timezone(datetime.timedelta(seconds=offset)))
        except (ValueError, KeyError, IndexError):
            return self.__getattr__("parsedate_to_datetime")(data)


def _no_retrieval(uri: str) -> Any:
    """Pre-flight never fetches a schema: an outside ``$ref`` leaves the fast path off."""
    raise ValueError(f"not fetched: {uri}")


# What a schema the validator cannot evaluate raises (beyond what the catalog refuses at
# load): reported as one SpecError line naming the variant, never a traceback.
_UNCHECKABLE = (RecursionError, ArithmeticError, LookupError, TypeError, ValueError)


def checkable_schema(schema: Any) -> tuple[Any, list[tuple[FieldPath, str, str]]]:
    """``schema`` without the regular expressions Python cannot compile, and those left out.

    A spec's ``pattern`` is ECMA-262; one Python's ``re`` refuses (or that is simply
    broken) would raise inside the validator. Its value goes unchecked, with a warning;
    the rest of the schema is still checked. Returns ``schema`` itself when all compile.
    """
    import re

    unchecked: list[tuple[FieldPath, str, str]] = []

    def compiles(pattern: str) -> str | None:
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            return str(exc).splitlines()[0]
        return None

    def clean(node: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(node, list):
            return [clean(item, path) for item in node]
        if not isinstance(node, Mapping):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("const", "enum", "default", "examples", "required"):
                out[key] = value
            elif key == "pattern" and isinstance(value, str):
                reason = compiles(value)
                if reason is None:
                    out[key] = value
                else:
                    unchecked.append((path, value, reason))
            elif key == "patternProperties" and isinstance(value, Mapping):
                kept = {}
                for regex, sub in value.items():
                    reason = compiles(regex)
                    if reason is None:
                        kept[regex] = clean(sub, path)
                    else:
                        unchecked.append((path, regex, reason))
                out[key] = kept
            elif key == "properties" and isinstance(value, Mapping):
                out[key] = {name: clean(sub, (*path, name)) for name, sub in value.items()}
            elif key == "items":
                out[key] = clean(value, (*path, 0))
            else:
                out[key] = clean(value, path)
        return out

    cleaned = clean(schema, ())
    return (cleaned, unchecked) if unchecked else (schema, [])


#: A missing field's sentence and the values that would mend it.
_Missing = tuple[tuple[str | FieldName, ...], tuple[str, ...]]


def _variant_name(op: Operation, variant: Variant) -> str:
    return f"{variant.key} on {op.endpoint}" if variant.key else op.endpoint


def _json_type_name(value: Any) -> str:
    """``a string``, ``an integer``, ``null``: the value's JSON type, as said in a sentence."""
    kind = json_type(value)
    return kind if kind == "null" else _article(kind)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(error: ValidationError) -> str:
    """A sentence for one schema error that says what is allowed."""
    rule, limit, value = error.validator, error.validator_value, error.instance
    if rule == "enum":
        return f"must be one of: {', '.join(map(str, limit))}; got {_short(value)}"
    if rule == "const":
        return f"must be {_short(limit)}; got {_short(value)}"
    if rule == "not" and limit == {}:
        return "is not allowed here (the spec accepts no value for it)"
    if rule == "type":
        wanted = " or ".join(limit) if isinstance(limit, list) else limit
        return f"must be {_article(str(wanted))}; got {_json_type_name(value)}"
    if rule == "minimum":
        return f"must be at least {limit}; got {value}"
    if rule == "maximum":
        return f"must be at most {limit}; got {value}"
    if rule == "exclusiveMinimum":
        return f"must be greater than {limit}; got {value}"
    if rule == "exclusiveMaximum":
        return f"must be less than {limit}; got {value}"
    if rule == "minLength":
        return f"must be at least {limit} character(s) long; got {len(value)}"
    if rule == "maxLength":
        return f"must be at most {limit} character(s) long; got {len(value)}"
    if rule == "minItems":
        return f"needs at least {limit} item(s); got {len(value)}"
    if rule == "maxItems":
        return f"takes at most {limit} item(s); got {len(value)}"
    if rule == "pattern":
        return f"must match the pattern {limit}; got {_short(value)}"
    if rule == "required":
        return error.message.replace("is a required property", "is required")
    if rule == "format":
        return f"must be a valid {limit}; got {_short(value)}"
    if rule in ("anyOf", "oneOf"):
        facts = media_facts(error.schema)
        if facts is not None and isinstance(value, str):
            return _media_sentence(facts, value)
        unmatched = _unmatched_discriminator(error)
        if unmatched is not None:
            return unmatched
        best = _best_context(error)
        if best is not None:
            inner = render_path(list(best.relative_path))
            return f"{inner}: {_describe(best)}" if inner else _describe(best)
        return f"does not match any allowed form; got {_short(value)}"
    return error.message


def _innermost(error: ValidationError, path: FieldPath) -> tuple[ValidationError, FieldPath]:
    """Inside an anyOf/oneOf of objects, the sub-error that says what is wrong and the path
    of the field it is about (``voice.presetId``, not ``voice``), so the problem names the
    nested field; a media URI or a discriminator outside every branch stays where it is."""
    while error.validator in ("anyOf", "oneOf"):
        if ((media_facts(error.schema) is not None and isinstance(error.instance, str))
                or _unmatched_discriminator(error) is not None):
            break
        best = _best_context(error)
        if best is None:
            break
        error, path = best, tuple(best.absolute_path)
    if error.validator == "required" and path and isinstance(error.validator_value, list):
        missing = [name for name in error.validator_value
                   if isinstance(error.instance, Mapping) and name not in error.instance]
        if len(missing) == 1:
            return error, (*path, missing[0])
    return error, path


def _media_sentence(facts: Any, value: str) -> str:
    forms = []
    for scheme in facts.schemes:
        if scheme == "data":
            cap = f", at most {facts.data_max_length:,} characters" if facts.data_max_length else ""
            forms.append(f"a data:{facts.data_mime_prefix or ''}… URI{cap}")
        else:
            noun = "URL" if scheme.startswith("http") else "URI"
            forms.append(f"a {scheme}:// {noun}")
    return f"must be {', '.join(forms[:-1])} or {forms[-1]}; got {_short(value)}" if len(
        forms
    ) > 1 else f"must be {forms[0]}; got {_short(value)}"


def _best_context(error: ValidationError) -> ValidationError | None:
    """The most relevant sub-error of an anyOf/oneOf: within the branch the value's own
    discriminator names when there is one, else the deepest, of the matching type."""
    if not error.context:
        return None
    from jsonschema.exceptions import best_match

    context = list(error.context)
    branch = _discriminated_branch(error)
    if branch is not None:
        chosen = [e for e in context if list(e.relative_schema_path)[:1] == [branch]]
        context = chosen or context
    return best_match(context)


def _discriminator_values(error: ValidationError) -> tuple[str, list[Any]] | None:
    """(property, pinned value per branch) of a discriminated anyOf/oneOf the instance uses."""
    schema, value = error.schema, error.instance
    declared = schema.get("discriminator") if isinstance(schema, Mapping) else None
    prop = declared.get("propertyName") if isinstance(declared, Mapping) else None
    if not isinstance(prop, str) or not isinstance(value, Mapping) or prop not in value:
        return None
    pinned = []
    for candidate in schema.get(error.validator) or ():
        props, _ = flatten_object(candidate) if isinstance(candidate, Mapping) else ({}, ())
        pinned.append(literal_value(props.get(prop) or {}))
    return prop, pinned


def _discriminated_branch(error: ValidationError) -> int | None:
    """The index of the branch whose pinned discriminator value the instance carries."""
    found = _discriminator_values(error)
    if found is None:
        return None
    prop, pinned = found
    return pinned.index(error.instance[prop]) if error.instance[prop] in pinned else None


def _unmatched_discriminator(error: ValidationError) -> str | None:
    """"type: must be one of …" when the value names no branch at all (every branch pinned)."""
    found = _discriminator_values(error)
    if found is None:
        return None
    prop, pinned = found
    given = error.instance[prop]
    if given in pinned or any(p is None for p in pinned):
        return None
    return f"{prop}: must be one of: {', '.join(map(str, pinned))}; got {_short(given)}"


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _takers(op: Operation, name: str) -> list[str]:
    """The other variants (models) of ``op`` that have a top-level field ``name``: a field
    one model lacks is then a wrong model, not a misspelt field."""
    return [str(v.key) for v in op.variants if v.key is not None and name in v.field_map]


def _taken_by(takers: Sequence[str], most: int = 4) -> str:
    if not takers:
        return ""
    shown = ", ".join(takers[:most]) + (f" (+{len(takers) - most} more)" if len(takers) > most
                                        else "")
    return f" ({shown} take{'s' if len(takers) == 1 else ''} it)"

