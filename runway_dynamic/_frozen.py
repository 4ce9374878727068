"""Frozen value classes that cost nothing to define.

``@dataclass(frozen=True)`` writes its methods as source text and compiles them each time
its module is imported: about 1 ms per class here, some 15 ms of a ``--dry-run``'s start-up.
A :class:`Frozen` subclass gets the same behaviour from methods compiled once, in this
module: fields set once (assigning raises ``dataclasses.FrozenInstanceError``), equality
and hash by the fields' values, a ``repr`` that lists them.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Frozen:
    """Base of a frozen value class. A subclass names its fields, in order, in ``_fields``
    and sets them in its ``__init__`` with :meth:`_set`; fields in ``_hidden`` stay out of
    the ``repr``, those in ``_uncompared`` out of equality and hash (a dataclass field's
    ``repr=False`` and ``compare=False``)."""

    _fields: ClassVar[tuple[str, ...]] = ()
    _hidden: ClassVar[tuple[str, ...]] = ()
    _uncompared: ClassVar[tuple[str, ...]] = ()

    def _set(self, **values: Any) -> None:
        self.__dict__.update(values)

    def _key(self) -> tuple[Any, ...]:
        values = self.__dict__
        return tuple(values[name] for name in self._fields if name not in self._uncompared)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Frozen) and other.__class__ is self.__class__:
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        values = self.__dict__
        shown = ", ".join(f"{name}={values[name]!r}" for name in self._fields
                          if name not in self._hidden)
        return f"{self.__class__.__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")
