"""_frozen.Frozen behaves as the frozen dataclasses it replaced (see its module docstring)."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from typing import Any

import pytest

from runway_dynamic._frozen import Frozen
from runway_dynamic._http import PreparedRequest
from runway_dynamic._problems import FieldName, Problem, says


@dataclasses.dataclass(frozen=True)
class _Request:
    method: str
    url: str
    headers: Any = dataclasses.field(repr=False)
    json: Any = None
    operation: Any = dataclasses.field(default=None, repr=False, compare=False)


class _FrozenRequest(Frozen):
    _fields = ("method", "url", "headers", "json", "operation")
    _hidden = ("headers", "operation")
    _uncompared = ("operation",)

    def __init__(self, method: str, url: str, headers: Any, json: Any = None,
                 operation: Any = None) -> None:
        self._set(method=method, url=url, headers=headers, json=json, operation=operation)


def test_frozen_class_repr_equality_and_hash_match_the_dataclass_it_replaced() -> None:
    args = ("POST", "http://x/v1/a", ("A", "b"), ("k", 1))
    ours, theirs = _FrozenRequest(*args), _Request(*args)
    assert repr(ours).removeprefix("_FrozenRequest") == repr(theirs).removeprefix("_Request")
    assert (ours == _FrozenRequest(*args, operation=object())) == (
        theirs == _Request(*args, operation=object()))  # operation is not compared
    assert hash(ours) == hash(_FrozenRequest(*args, operation=1))
    assert ours != _FrozenRequest("GET", *args[1:])
    assert ours != theirs  # another class is never equal, as with dataclasses
    request = PreparedRequest("POST", "http://x/v1/a", {"A": "b"})
    assert request == PreparedRequest("POST", "http://x/v1/a", {"A": "b"}, operation=object())
    name = FieldName(("a",))
    assert hash(name) == hash(FieldName(("a",), "label")) and name == FieldName(("a",))


def test_frozen_class_refuses_assignment_as_a_frozen_dataclass_does() -> None:
    problem = Problem("missing_field", says("missing ", FieldName(("a",))), ("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.kind = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del problem.kind  # type: ignore[misc]
    assert problem.details == {} and problem.details is not Problem("x", ()).details


def test_frozen_instances_pickle_and_copy_by_value() -> None:
    problem = Problem("unknown_model", says("x"), ("model",), details={"nearMiss": ["a"]})
    for twin in (pickle.loads(pickle.dumps(problem)), copy.copy(problem),
                 copy.deepcopy(problem)):
        assert twin == problem and isinstance(twin, Frozen)


def _every_frozen_class() -> list[type[Frozen]]:
    """Every Frozen subclass of the package (each module imported, so a new one is seen)."""
    import importlib
    import pkgutil

    import runway_dynamic

    for info in pkgutil.walk_packages(runway_dynamic.__path__, "runway_dynamic."):
        if info.name.endswith(".__main__"):  # runs the CLI
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue
    found: list[type[Frozen]] = []
    todo = list(Frozen.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("runway_dynamic."):
            found.append(cls)
        todo += cls.__subclasses__()
    return found


def test_every_frozen_class_lists_exactly_its_annotated_fields_in_order() -> None:
    """``_fields`` is written beside the annotations: a field annotated but not listed would
    drop out of equality, hash and repr without a sound."""
    classes = _every_frozen_class()
    assert len(classes) >= 5, classes
    for cls in classes:
        annotated = tuple(name for name in inspect.get_annotations(cls)
                          if not name.startswith("_"))
        assert cls._fields == annotated, cls.__qualname__
        for name in (*cls._hidden, *cls._uncompared):
            assert name in cls._fields, (cls.__qualname__, name)
