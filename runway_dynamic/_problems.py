"""What pre-flight finds wrong with a request: data for programs, a sentence for people.

A problem names fields by their path in the request (``referenceImages[0].uri``), never by
a command-line flag or a tool argument: whoever shows it decides what a field is called.
:meth:`Problem.render` takes that decision as a function — the CLI passes its command's
flags (``promptText (--prompt-text)``), the library and the tools show the spec's names.

>>> problem.render()                               # the library's words
'missing required field duration'
>>> problem.render(lambda path: "--duration")      # the CLI's
'missing required field duration (--duration)'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runway_dynamic._frozen import Frozen

ERROR = "error"
WARNING = "warning"

#: A path into a request: body property names and array indexes.
FieldPath = tuple[str | int, ...]
#: How a presenter names a field: its flag, its argument name, or ``None`` for none.
Namer = Callable[[FieldPath], str | None]


#: How a :class:`FieldName` reads: ``path (name)``; only `` (name)`` after words that
#: already say which field (``ratio '9:1' (--ratio)``); or the name alone (``pass --id``).
LABEL, AFTER, NAME = "label", "after", "name"


class FieldName(Frozen):
    """A field named inside a problem's sentence, spelled out by whoever shows it."""

    _fields = ("path", "form")
    path: FieldPath
    form: str

    def __init__(self, path: FieldPath, form: str = LABEL) -> None:
        self._set(path=path, form=form)

    def render(self, name: Namer | None) -> str:
        shown = name(self.path) if name is not None else None
        if self.form == NAME and shown:
            return shown
        where = render_path(self.path)
        if self.form == NAME:
            return shown or where
        if self.form == AFTER:
            return f" ({shown})" if shown else ""
        return f"{where} ({shown})" if shown else where


class Problem(Frozen):
    """One thing wrong with a request, with what a person (or agent) needs to fix it.

    ``kind`` is one of: unknown_endpoint, invalid_body, missing_field, wrong_endpoint,
    unknown_model (a warning; an error for a near miss of a listed id, ``details["nearMiss"]``
    naming it), unsupported_ratio, invalid_value, unknown_field, unchecked_pattern (a
    warning: the spec's pattern is not a regular expression this side can run). ``path`` is
    the field the problem is about (empty for the whole request), ``location`` where that
    field goes (``body``, ``query``, ``path``, ``header``), ``variant`` the model (or other
    discriminator value) whose schema the body was checked against.
    """

    _fields = ("kind", "text", "path", "location", "variant", "suggestions", "severity",
               "details")
    kind: str
    #: The sentence, as text and :class:`FieldName` parts (see :meth:`render`).
    text: tuple[str | FieldName, ...]
    path: FieldPath
    location: str
    variant: str | None
    suggestions: tuple[str, ...]
    severity: str
    details: Mapping[str, Any]

    def __init__(self, kind: str, text: tuple[str | FieldName, ...], path: FieldPath = (),
                 location: str = "body", variant: str | None = None,
                 suggestions: tuple[str, ...] = (), severity: str = ERROR,
                 details: Mapping[str, Any] | None = None) -> None:
        self._set(kind=kind, text=text, path=path, location=location, variant=variant,
                  suggestions=suggestions, severity=severity,
                  details={} if details is None else details)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    @property
    def field(self) -> str | None:
        """The path as text (``referenceImages[0].uri``), ``None`` for the whole request."""
        return render_path(self.path) or None

    @property
    def message(self) -> str:
        """The sentence with fields named by their spec names."""
        return self.render()

    def render(self, name: Namer | None = None) -> str:
        """The sentence, each field named as ``name(path)`` says (beside the spec name)."""
        return "".join([p.render(name) if isinstance(p, FieldName) else p
                        for p in self.text])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "severity": self.severity,
            "field": render_path(self.path) or None,
            "message": self.render(),
            "suggestions": list(self.suggestions),
        }
        if self.details:
            out["details"] = dict(self.details)
        return out


def says(*parts: str | FieldName) -> tuple[str | FieldName, ...]:
    """A problem's sentence from its parts (adjacent text is joined)."""
    out: list[str | FieldName] = []
    for part in parts:
        if part.__class__ is str:  # (not ``part != ""``: that asks FieldName.__eq__)
            if not part:
                continue
            if out and out[-1].__class__ is str:
                out[-1] += part
                continue
        out.append(part)
    return tuple(out)


def errors(problems: Sequence[Problem]) -> list[Problem]:
    """The problems that block a request (warnings dropped)."""
    return [p for p in problems if p.is_error]


def render_path(path: Sequence[Any]) -> str:
    """``("referenceImages", 0, "uri")`` → ``referenceImages[0].uri``."""
    if len(path) == 1 and path[0].__class__ is str:  # a top-level field, the usual case
        return path[0]
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
