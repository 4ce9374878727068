"""A batch's jobs file (JSONL or CSV) read into checked jobs, or every bad line at once.

One line, one generation:

* **JSONL**: one JSON object per line. ``endpoint`` names the operation (``text_to_video``),
  ``id`` (optional) names the job and its output files, and every other key is a body
  field by its spec name (``promptText``) or flag (``--prompt-text``, ``prompt-text``, the
  short ``prompt``). ``{"endpoint": …, "id": …, "body": {…}}`` gives the body as is.
  Blank lines and lines starting with ``#`` are skipped.
* **CSV**: a header row, then one job per row. Columns are ``endpoint``, ``id`` and field
  names or flags as above; a cell's text becomes the field's type (``5`` → 5 for an
  integer field, JSON for object and array fields); an empty cell is "not given".

A field that is an object takes its parts under dotted keys or columns, as the CLI's dotted
flags do (:mod:`runway_dynamic.shapes` puts them together, its shape's constants filled
in): ``"voice.preset-id": "maya"`` (or ``--voice.preset-id``, ``voice.presetId``) gives
``{"voice": {"type": "runway-preset", "presetId": "maya"}}`` where that is the shape.

Problems name fields by their spec names; a caller that has flags for them (the CLI, whose
command builder names them) passes ``flags`` and the messages carry those too.

Local files in media fields (``promptImage: shots/p1.png``) are taken relative to the jobs
file and checked now; they are inlined or uploaded when the job is submitted. Every job
is pre-flighted against the spec before anything is sent, and a field the model does not
have is an error here (a typo in a column costs nothing now, and a whole batch later).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_dynamic import shapes
from runway_dynamic._constants import MODEL_PROPERTY
from runway_dynamic._exceptions import ShapeError, UsageError
from runway_dynamic.catalog import CREATES_TASK, Field, Operation, Variant
from runway_dynamic.coerce import from_text, unchecked_from_text
from runway_dynamic.naming import camel, closest, endpoint_name, kebab, short_aliases
from runway_dynamic.uploads import local_media, placeholder_media, replace_media

if TYPE_CHECKING:
    from runway_dynamic._problems import Namer
    from runway_dynamic.spec import Spec
    from runway_dynamic.validation import Problem

#: JSONL keys and CSV columns that describe the job rather than its body.
ENDPOINT_KEY = "endpoint"
ID_KEY = "id"
BODY_KEY = "body"
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = (".csv", ".tsv")
MAX_KEY_LENGTH = 80
#: How a caller names the fields of an operation (the CLI: the flags its command builder
#: gives them); ``None`` for a field it has no name for.
FieldFlags = Callable[[Operation], "Namer"]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class BatchJob:
    """One generation of a batch: where it came from, what to call, and with what."""

    key: str
    line: int
    endpoint: str
    body: Mapping[str, Any] = field(repr=False)

    @property
    def model(self) -> str | None:
        value = self.body.get(MODEL_PROPERTY)
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class LineProblem:
    """What is wrong on one line of a jobs file, and how to fix it."""

    line: int
    message: str
    field: str | None = None
    flag: str | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        tail = f" ({self.fix})" if self.fix and self.fix not in self.message else ""
        return f"{where}: {self.message}{tail}"

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "flag": self.flag,
                "message": self.message, "fix": self.fix}


class JobsFileError(UsageError):
    """A jobs file with bad lines: nothing was sent, and every problem is listed."""

    def __init__(self, source: str, problems: Sequence[LineProblem], *, jobs: int = 0):
        self.source = source
        self.problems = list(problems)
        self.jobs = jobs
        lines = {p.line for p in self.problems}
        head = (f"{source}: {len(lines)} of {jobs} job line(s) failed the check; nothing was "
                "sent:" if jobs else f"{source}: no job could be read:")
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "source": self.source, "jobs": self.jobs,
                "problems": [p.to_dict() for p in self.problems]}


@dataclass
class JobsFile:
    """The jobs read from a file; ``skipped`` holds the problems of lines left out."""

    source: str
    jobs: list[BatchJob]
    skipped: list[LineProblem] = field(default_factory=list)
    warnings: list[LineProblem] = field(default_factory=list)
    #: The file read (``None`` for text given directly, e.g. from stdin).
    path: Path | None = None
    #: sha256 of what was read: a journal remembers which jobs it was made from.
    sha256: str | None = None


# --------------------------------------------------------------------------- reading


def load_jobs(path: str | Path, spec: Spec, *, endpoint: str | None = None,
              model: str | None = None, skip_invalid: bool = False,
              flags: FieldFlags | None = None, allow_unknown_model: bool = False) -> JobsFile:
    """Read, map and pre-flight every job of ``path``; :class:`JobsFileError` lists all
    bad lines unless ``skip_invalid`` (then they are left out and listed in ``skipped``).
    A model id that is a near miss of a listed one is a bad line unless
    ``allow_unknown_model`` (as ``--allow-unknown-model`` on one command).

    ``endpoint`` and ``model`` are defaults for lines that do not name their own;
    ``flags`` names fields in messages beside their spec names, and those names are
    accepted as keys too.
    """
    file = Path(path)
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read jobs file {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{file} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    found = parse_jobs(text, spec, source=str(file), base_dir=file.parent.absolute(),
                       fmt=format_of(file, text), endpoint=endpoint, model=model,
                       skip_invalid=skip_invalid, flags=flags,
                       allow_unknown_model=allow_unknown_model)
    found.path = file.absolute()
    return found


def format_of(path: Path, text: str) -> str:
    """``jsonl`` or ``csv``: by the suffix, else by the first character of the text."""
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CSV_SUFFIXES:
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def parse_jobs(text: str, spec: Spec, *, source: str = "<jobs>", base_dir: Path | None = None,
               fmt: str = "jsonl", endpoint: str | None = None, model: str | None = None,
               skip_invalid: bool = False, flags: FieldFlags | None = None,
               allow_unknown_model: bool = False) -> JobsFile:
    """:func:`load_jobs` on text already read (``fmt`` is ``jsonl`` or ``csv``)."""
    if fmt not in ("jsonl", "csv"):
        raise UsageError(f"unknown jobs format {fmt!r}; use jsonl or csv")
    rows = list(_jsonl_rows(text) if fmt == "jsonl"
                else _csv_rows(text, delimiter=_delimiter(source)))
    reader = _Reader(spec, base_dir or Path.cwd(), endpoint, model, width=len(str(len(rows))),
                     flags=flags, allow_unknown_model=allow_unknown_model)
    total = len(rows)
    for number, row in enumerate(rows, start=1):
        reader.read(number, row)
    if reader.file_problems:
        raise JobsFileError(source, reader.file_problems, jobs=total)
    if not reader.jobs and not reader.problems:
        raise JobsFileError(source, [LineProblem(0, "the file has no jobs")])
    if reader.problems and not skip_invalid:
        raise JobsFileError(source, reader.problems, jobs=total)
    import hashlib

    return JobsFile(source, reader.jobs, reader.problems if skip_invalid else [],
                    reader.warnings, sha256=hashlib.sha256(text.encode()).hexdigest())


def _delimiter(source: str) -> str:
    return "\t" if source.lower().endswith(".tsv") else ","


@dataclass
class _Row:
    """One job line before mapping: its line number, and its entries or why it is unreadable."""

    line: int
    entries: dict[str, Any] | None
    typed: bool  # JSON values (JSONL) rather than text cells (CSV)
    error: str | None = None
    #: The error spoils the whole file (a bad header, broken CSV), not just this line.
    fatal: bool = False


def _jsonl_rows(text: str) -> Iterator[_Row]:
    import orjson

    for index, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            value = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            yield _Row(index, None, True, f"not valid JSON ({exc})")
            continue
        if not isinstance(value, dict):
            yield _Row(index, None, True, "a job line must be a JSON object")
            continue
        yield _Row(index, value, True)


def _csv_rows(text: str, *, delimiter: str) -> Iterator[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    line = 0
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _Row(start, None, False, f"unreadable CSV ({exc})", fatal=True)
            return
        line = start
        if header is None:
            header = [c.strip() for c in cells]
            repeated = sorted({c for c in header if c and header.count(c) > 1})
            if repeated or not any(header):
                why = (f"repeated column(s) {', '.join(repeated)}" if repeated
                       else "the header row is empty")
                yield _Row(line, None, False, f"header: {why}", fatal=True)
                return
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            yield _Row(line, None, False,
                       f"{len(cells)} cells but the header has {len(header)} columns")
            continue
        yield _Row(line, {name: cell for name, cell in zip(header, cells, strict=False)
                          if name and cell.strip() != ""}, False)


# --------------------------------------------------------------------------- mapping


class _Reader:
    """Turns rows into jobs, collecting problems (one instance per file)."""

    def __init__(self, spec: Spec, base_dir: Path, endpoint: str | None, model: str | None,
                 *, width: int = 4, flags: FieldFlags | None = None,
                 allow_unknown_model: bool = False):
        self.spec = spec
        self.allow_unknown_model = allow_unknown_model
        self._flags = flags
        self._namers: dict[str, Namer] = {}
        self.base_dir = base_dir
        self.default_endpoint = endpoint
        self.default_model = model
        self.jobs: list[BatchJob] = []
        self.problems: list[LineProblem] = []
        self.file_problems: list[LineProblem] = []
        self.warnings: list[LineProblem] = []
        self._keys: dict[str, int] = {}
        self._aliases: dict[str, dict[str, tuple[str, ...]]] = {}
        self._width = max(4, width)

    def read(self, number: int, row: _Row) -> None:
        if row.entries is None:
            target = self.file_problems if row.fatal else self.problems
            target.append(LineProblem(row.line, row.error or "unreadable line"))
            return
        found = self._job(number, row)
        if isinstance(found, BatchJob):
            self.jobs.append(found)
        else:
            self.problems.extend(found)

    def _job(self, number: int, row: _Row) -> BatchJob | list[LineProblem]:
        entries = dict(row.entries or {})
        line = row.line
        name = entries.pop(ENDPOINT_KEY, None) or self.default_endpoint
        key_value = entries.pop(ID_KEY, None)
        if not name:
            return [LineProblem(line, "no endpoint: add an 'endpoint' column or key, or pass "
                                "--endpoint", field=ENDPOINT_KEY, fix="e.g. text_to_video")]
        operation = self._operation(str(name))
        if isinstance(operation, LineProblem):
            return [replace(operation, line=line)]
        key, problem = self._key(key_value, number, line)
        if problem is not None:
            return [problem]
        explicit = entries.pop(BODY_KEY, None) if row.typed else None
        if explicit is not None and not isinstance(explicit, dict):
            return [LineProblem(line, "'body' must be a JSON object", field=BODY_KEY)]
        if explicit is not None and entries:
            return [LineProblem(line, f"give the fields either in 'body' or beside it, not both "
                                f"(also found: {', '.join(sorted(entries))})", field=BODY_KEY)]
        cell_problems: list[LineProblem] = []
        body = (dict(explicit) if explicit is not None
                else self._body(operation, entries, typed=row.typed, line=line,
                                problems=cell_problems))
        if self.default_model and operation.discriminator and (
                operation.discriminator not in body):
            body[operation.discriminator] = self.default_model
        return self._checked(operation, key, line, body, cell_problems)

    def _operation(self, name: str) -> Operation | LineProblem:
        """The task-creating operation a line names (``/v1/x``, ``x``, ``kebab-x``)."""
        catalog = self.spec.catalog
        wanted = endpoint_name(name.strip())
        for candidate in (wanted, wanted.replace("-", "_")):
            op = catalog.operation(candidate, "POST")
            if op is not None and op.kind == CREATES_TASK:
                return op
        runnable = [op.endpoint for op in catalog.operations if op.kind == CREATES_TASK]
        near = closest(wanted, runnable)
        known = catalog.operation(wanted, "POST") is not None
        why = (f"{wanted} does not start a task (a batch runs generation endpoints)" if known
               else f"unknown endpoint {wanted!r}")
        fix = f"did you mean {', '.join(near)}?" if near else "see 'runway models'"
        return LineProblem(0, f"{why}; {fix}", field=ENDPOINT_KEY, fix=fix)

    def _key(self, given: Any, number: int, line: int) -> tuple[str, LineProblem | None]:
        if given is None or given == "":
            key = f"job-{number:0{self._width}d}"
        else:
            key = _UNSAFE.sub("-", str(given).strip()).strip("-.")[:MAX_KEY_LENGTH]
            if not key:
                return "", LineProblem(line, f"id {given!r} has no letters or digits to name "
                                       "files with", field=ID_KEY)
        first = self._keys.setdefault(key, line)
        if first != line:
            return "", LineProblem(line, f"id {key!r} is already used on line {first}; ids "
                                   "name output files and must be unique", field=ID_KEY)
        return key, None

    def _body(self, operation: Operation, entries: Mapping[str, Any], *, typed: bool,
              line: int, problems: list[LineProblem]) -> dict[str, Any]:
        """The body from named entries: names mapped to fields, CSV text typed (a cell that
        does not fit its field is left out and reported in ``problems``)."""
        discriminator = operation.discriminator
        model_entry = next((v for k, v in entries.items()
                            if discriminator and self._name(operation, None, k) == discriminator),
                           None)
        variant = operation.variant(str(model_entry)) if model_entry is not None else (
            operation.variant(self.default_model) if self.default_model else None)
        if variant is None and operation.variants and not discriminator:
            variant = operation.variants[0]
        body: dict[str, Any] = {}
        namer = self.namer(operation)
        nested: dict[str, dict[tuple[str, ...], Any]] = {}
        for name, value in entries.items():
            below = self._nested(operation, variant, name)
            if below is not None:
                field_name, leaf = below
                if not typed:
                    value = shapes.value_from_text(leaf.schema, value, name,
                                                   (field_name, *leaf.path))
                nested.setdefault(field_name, {})[leaf.path] = value
                continue
            field_name = self._name(operation, variant, name)
            if not typed and variant is not None and field_name in variant.field_map:
                flag = namer((field_name,))
                label = f"{field_name} ({flag})" if flag else field_name
                try:
                    value = from_text(value, variant.field_map[field_name].kind, label)
                except UsageError as exc:
                    problems.append(LineProblem(line, str(exc), field=field_name, flag=flag))
                    continue
            elif not typed and variant is None and discriminator:
                # A model the spec does not list: typed as the listed models agree.
                kind = operation.unknown_model_kind(field_name)
                if kind is not None:
                    value = unchecked_from_text(value, kind, field_name)
            body[field_name] = value
        for field_name, given in nested.items():
            try:
                body[field_name] = shapes.assemble(
                    self._fields(operation, variant)[field_name].schema, body.get(field_name),
                    given, (field_name,))
            except ShapeError as exc:
                problems.append(LineProblem(line, exc.render(namer), field=field_name,
                                            flag=namer((field_name,))))
        return body

    def _fields(self, operation: Operation, variant: Variant | None) -> Mapping[str, Field]:
        """The fields a line may name: its model's, or every model's for an unknown one."""
        if variant is not None:
            return variant.field_map
        return {f.name: f for v in reversed(operation.variants) for f in v.fields}

    def _nested(self, operation: Operation, variant: Variant | None,
                name: str) -> tuple[str, shapes.Leaf] | None:
        """The object field and the leaf below it that a dotted key names, as the CLI's
        dotted flags do (``voice.preset-id``, ``--voice.preset-id``); ``None`` otherwise."""
        head, dot, rest = name.strip().lstrip("-").partition(".")
        if not dot or not rest:
            return None
        field_name = self._name(operation, variant, head)
        found = self._fields(operation, variant).get(field_name)
        if found is None or found.kind not in ("object", "any"):
            return None
        leaf = shapes.find_leaf(found.schema, rest.split("."))
        return None if leaf is None else (field_name, leaf)

    def _name(self, operation: Operation, variant: Variant | None, name: str) -> str:
        """The spec field a key or column names: as is, a flag, a kebab name or an alias."""
        names = self._fields(operation, variant)
        if name in names:
            return name
        bare = name.strip().lstrip("-")
        for candidate in (bare, camel(bare), camel(kebab(bare))):
            if candidate in names:
                return candidate
        for field_name in self._alias_table(operation).get(kebab(bare), ()):
            if field_name in names:
                return field_name
        namer = self.namer(operation)
        for field_name in names:
            flag = namer((field_name,))
            if flag is not None and flag.lstrip("-") == bare:
                return field_name
        return camel(bare) if name.startswith("--") else name

    def namer(self, operation: Operation) -> Namer:
        """How the caller names ``operation``'s fields (nothing, without ``flags``)."""
        found = self._namers.get(operation.endpoint)
        if found is None:
            found = self._flags(operation) if self._flags is not None else _no_names
            self._namers[operation.endpoint] = found
        return found

    def _alias_table(self, operation: Operation) -> dict[str, tuple[str, ...]]:
        table = self._aliases.get(operation.endpoint)
        if table is None:
            variants = [[f.name for f in v.fields] for v in operation.variants]
            taken = {kebab(f.name) for v in operation.variants for f in v.fields}
            table = short_aliases(variants, taken)
            self._aliases[operation.endpoint] = table
        return table

    def _checked(self, operation: Operation, key: str, line: int, body: dict[str, Any],
                 problems: list[LineProblem]) -> BatchJob | list[LineProblem]:
        """Local media made absolute and checked, then pre-flight (placeholders for files).

        ``problems`` already holds the cells that could not be read; pre-flight's word on
        those same fields (now missing) is left out, so each mistake is reported once.
        """
        reported = {p.field for p in problems}
        variant_key = body.get(operation.discriminator) if operation.discriminator else None
        variant_key = variant_key if isinstance(variant_key, str) else None
        namer = self.namer(operation)
        found = local_media(operation, variant_key, body,
                            lambda name: namer((name,)) or name)
        absolute: dict[Any, str] = {}
        stand_ins: dict[Any, str] = {}
        for media in found:
            path = media.path if media.path.is_absolute() else self.base_dir / media.path
            absolute[media.where] = str(path)
            try:
                stand_ins[media.where] = placeholder_media(media.with_value(str(path)))
            except UsageError as exc:
                top = str(media.where[0])
                problems.append(LineProblem(line, str(exc), field=top, flag=namer((top,)),
                                            fix="check the path (relative to the jobs file)"))
                reported.add(top)
        if absolute:
            body = replace_media(body, absolute)
        checked = replace_media(body, stand_ins) if stand_ins else body
        for problem in self.spec.preflight(operation.endpoint, checked,
                                           method=operation.method,
                                           allow_unknown_model=self.allow_unknown_model):
            if problem.field in reported:
                continue
            if problem.is_error or problem.kind == "unknown_field":
                problems.append(_from_problem(line, problem, namer))
            else:
                self.warnings.append(_from_problem(line, problem, namer))
        if problems:
            return problems
        return BatchJob(key, line, operation.endpoint, body)


def _from_problem(line: int, problem: Problem, namer: Namer) -> LineProblem:
    fix = None
    shown = [str(s) for s in problem.suggestions[:8]]
    if shown and shown[0] not in problem.message:
        fix = "use one of: " + ", ".join(shown)
    return LineProblem(line, problem.render(namer), field=problem.field,
                       flag=namer(problem.path[:1]) if problem.path else None, fix=fix)


def _no_names(path: tuple[str | int, ...]) -> str | None:
    """Without a caller's names, a field is called by its spec name alone."""
    return None
