"""Spelling rules for spec names: kebab, camel, snake and Python forms of a field's name,
endpoints from paths, "did you mean", and short aliases of two-word fields.

Spec body fields are camelCase (``promptText``); their kebab form is ``prompt-text``.
Endpoints are API paths without the version prefix (``/v1/text_to_video`` → ``text_to_video``).
Which flag a command gives a field is the CLI's decision (``cli/_options.py``), and the
command words (``runway video``, ``avatars list``) live in ``cli/_command_names.py``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from functools import lru_cache

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_VERSION_PREFIX = re.compile(r"^/v\d+(?:\.\d+)?(?=/)")


@lru_cache(maxsize=4096)
def kebab(name: str) -> str:
    """``promptText`` → ``prompt-text``; ``X-Runway-Version`` → ``x-runway-version``.

    Remembered: building one generation command's flags (and its siblings', for help)
    asks for the same few dozen names hundreds of times."""
    spaced = _CAMEL_BOUNDARY.sub("-", name)
    return re.sub(r"[^A-Za-z0-9.]+", "-", spaced).strip("-").lower()


def camel(kebab_name: str) -> str:
    """``prompt-text`` → ``promptText`` (the inverse of :func:`kebab` for camelCase names)."""
    head, *rest = kebab_name.lstrip("-").split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    """``promptText`` → ``prompt_text``; ``X-Runway-Version`` → ``x_runway_version``."""
    spaced = _CAMEL_BOUNDARY.sub("_", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").lower()


def python_name(name: str) -> str:
    """The Python argument or attribute for a spec name: :func:`snake`, made an identifier
    (``from`` → ``from_``, as the official SDK spells keywords; ``4k`` → ``_4k``)."""
    import keyword

    out = snake(name) or "_"
    if out[0].isdigit():
        out = "_" + out
    return out + "_" if keyword.iskeyword(out) else out


def endpoint_name(path: str) -> str:
    """An API path without its version prefix: ``/v1/tasks/{id}`` → ``tasks/{id}``."""
    return _VERSION_PREFIX.sub("", path).strip("/")


def closest(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` candidates that look like ``word``, best first (for "did you mean")."""
    pool = list(dict.fromkeys(candidates))
    found = difflib.get_close_matches(word, pool, n=n, cutoff=0.5)
    if not found:
        lowered = word.lower()
        found = [c for c in pool if lowered in c.lower() or c.lower() in lowered][:n]
    return found


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of
    two neighbours each cost 1 (``imag`` → ``image`` is 1, ``ratoi`` → ``ratio`` is 1)."""
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[-1]


def _typo_budget(word: str) -> int:
    """How many edits still read as a typo of a word this long (none below 3 letters)."""
    return 0 if len(word) < 4 else 1 if len(word) < 7 else 2


def suggest_flags(typed: str, accepted: Iterable[str], n: int = 2) -> list[str]:
    """The flags of ``accepted`` a user most likely meant by ``typed``, best first; empty
    when none is close (an unrelated flag is worse than no suggestion).

    Two kinds of closeness, both bounded by :func:`_typo_budget`:

    - *spelling*: the whole name is a typo away (``--ration`` → ``--ratio``);
    - *role*: every word of the typed name is (a typo or the start of) a word of the
      flag (``--image`` and ``--imag`` → ``--prompt-image``; ``--reference-image`` →
      ``--reference-images``). A flag with fewer extra words ranks first.
    """
    name = typed.split("=", 1)[0].lstrip("-").lower()
    if not name:
        return []
    words = [w for w in name.split("-") if w]
    scored: dict[str, tuple[int, int]] = {}
    for flag in dict.fromkeys(accepted):
        other = flag.lstrip("-").lower()
        negated = flag.startswith("--no-") and not name.startswith("no-")
        if not other or other == name or negated:
            continue
        whole = edit_distance(name, other)
        if whole <= _typo_budget(name):
            scored[flag] = (whole, 0)
            continue
        theirs = other.split("-")
        costs = []
        for word in words:
            best = min((0 if len(word) >= 3 and t.startswith(word) else edit_distance(word, t)
                        for t in theirs), default=len(word))
            if best > _typo_budget(word):
                break
            costs.append(best)
        else:
            if costs:
                scored[flag] = (sum(costs) + 1, len(theirs) - len(words))
    spelled = [f for f, (_, extra) in scored.items() if extra == 0 and scored[f][0] <= 2
               and edit_distance(name, f.lstrip("-").lower()) <= _typo_budget(name)]
    if spelled:  # a typo of a whole flag says more than a word it shares with others
        scored = {f: scored[f] for f in spelled}
    return sorted(scored, key=lambda f: (*scored[f], f))[:n]


# --------------------------------------------------------------------------- short aliases

#: Words that only say what role a field plays, not what it is.
_ROLE_SUFFIXES = ("text", "uri", "url")
_ROLE_PREFIX = "prompt"


def short_alias(name: str) -> str | None:
    """The short flag name of a two-word field, or ``None`` (the one generic rule).

    A two-word name whose second word is ``Text``, ``Uri`` or ``Url`` is also reachable by
    its first word; otherwise one whose first word is ``prompt``, by its second word:
    ``promptText`` → ``prompt``, ``promptImage`` → ``image``, ``videoUri`` → ``video``,
    ``audioUri`` → ``audio``. Everything else has no alias.
    """
    words = kebab(name).split("-")
    if len(words) != 2:
        return None
    if words[1] in _ROLE_SUFFIXES:
        return words[0]
    if words[0] == _ROLE_PREFIX:
        return words[1]
    return None


def singular_alias(name: str) -> str | None:
    """The one-item flag name of a list field named as an English plural in ``s``
    (``referenceImages`` → ``reference-image``, ``keyframes`` → ``keyframe``), or ``None``:
    people repeat ``--reference-image a.png --reference-image b.png``."""
    flag = kebab(name)
    if len(flag) > 3 and flag.endswith("s") and not flag.endswith("ss"):
        return flag[:-1]
    return None


def short_aliases(
    variants: Iterable[Iterable[str]], taken: Iterable[str], lists: Collection[str] = ()
) -> dict[str, tuple[str, ...]]:
    """``{alias: (field names it stands for)}`` for fields spread over ``variants``.

    An alias may stand for different fields in different variants (``--video`` is
    ``videoUri`` for one model and ``promptVideo`` for another): it is dropped when one
    variant has two fields with that alias (ambiguous) or when it equals a name in
    ``taken`` (the operation's own flags and the command's options). A field in ``lists``
    (a list in every variant) without a short alias gets its singular.
    """
    blocked = {kebab(t).lstrip("-") for t in taken}
    found: dict[str, list[str]] = {}
    ambiguous: set[str] = set()
    for names in variants:
        mine: dict[str, str] = {}
        for name in names:
            alias = short_alias(name) or (singular_alias(name) if name in lists else None)
            if alias is None:
                continue
            if alias in mine and mine[alias] != name:
                ambiguous.add(alias)
            mine[alias] = name
        for alias, name in mine.items():
            bucket = found.setdefault(alias, [])
            if name not in bucket:
                bucket.append(name)
    return {alias: tuple(names) for alias, names in found.items()
            if alias not in ambiguous and alias not in blocked}
