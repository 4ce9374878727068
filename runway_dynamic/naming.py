"""The only place that maps spec names to CLI names and back.

Spec body fields are camelCase (``promptText``); flags are kebab-case (``--prompt-text``).
Endpoints are API paths without the version prefix (``/v1/text_to_video`` → ``text_to_video``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_VERSION_PREFIX = re.compile(r"^/v\d+(?:\.\d+)?(?=/)")


def kebab(name: str) -> str:
    """``promptText`` → ``prompt-text``; ``X-Runway-Version`` → ``x-runway-version``."""
    spaced = _CAMEL_BOUNDARY.sub("-", name)
    return re.sub(r"[^A-Za-z0-9.]+", "-", spaced).strip("-").lower()


def flag_for(name: str) -> str:
    """The CLI flag of a spec field or parameter: ``promptText`` → ``--prompt-text``."""
    return "--" + kebab(name)


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


# --------------------------------------------------------------------------- commands
#
# Resource commands: ``runway RESOURCE VERB`` for every operation of the spec.
#
# * RESOURCE is the kebab-case first path segment after the version (``/v1/avatar_videos``
#   → ``avatar-videos``).
# * The literal segments after it are the *action* (``voices/preview`` → ``preview``,
#   ``organization/webapp/audit_logs`` → ``webapp-audit-logs``); path parameters
#   (``{id}``) are not part of the name: they become positional arguments.
# * Without an action, the verb comes from the method and the path shape: on a collection
#   GET → ``list`` (when it pages with a cursor or the resource has item paths, else
#   ``get``: ``organization get``), POST → ``create``; on an item (the path ends in a
#   parameter) GET → ``get``, PATCH/PUT → ``update``, DELETE → ``delete``, POST → ``run``
#   (posting to an existing item invokes it: ``workflows run``). When a path has both PUT
#   and PATCH, PUT is ``replace``.
# * With an action, the verb is the action; an action that ends in an item parameter adds
#   the item verb (``webapp-audit-logs-get``); an action path with several methods adds
#   the collection verb to each (``preview-list``, ``preview-create``).
# * Whatever still collides gets ``-<method>`` appended, then (two paths with the same
#   kebab name) ``-1``, ``-2`` in spec order, so the mapping is always one-to-one;
#   :data:`COMMAND_OVERRIDES` renames where a derived name reads badly.

#: ``(METHOD, endpoint) → (resource, verb)`` where the derived name is ambiguous or
#: misleading. Keep it small: every entry is a name the rules above could not get right.
#: The bundled spec needs none: every derived name there is unique and reads as the
#: operation does (``tests/commands/test_naming.py`` checks the mapping over the spec).
COMMAND_OVERRIDES: dict[tuple[str, str], tuple[str, str]] = {}

_ITEM_VERBS = {"GET": "get", "PATCH": "update", "PUT": "update", "DELETE": "delete",
               "POST": "run"}
_COLLECTION_VERBS = {"GET": "list", "POST": "create", "PATCH": "update", "PUT": "update",
                     "DELETE": "delete"}
_PAGING_PARAMS = frozenset({"cursor", "limit", "page", "pageToken", "offset"})


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def command_names(
    operations: Iterable[tuple[str, str, Iterable[str]]],
    overrides: dict[tuple[str, str], tuple[str, str]] | None = None,
) -> dict[tuple[str, str], tuple[str, str]]:
    """``{(METHOD, endpoint): (resource, verb)}`` for every operation, one-to-one.

    ``operations`` are ``(method, endpoint, query parameter names)`` (the names decide
    whether a collection GET pages). Pure: the same spec always gives the same names.

    >>> command_names([("GET", "voices", ["cursor"]), ("POST", "voices/preview", [])])
    {('GET', 'voices'): ('voices', 'list'), ('POST', 'voices/preview'): ('voices', 'preview')}
    """
    ops = [(m.upper(), e, frozenset(q)) for m, e, q in operations]
    table = COMMAND_OVERRIDES if overrides is None else overrides
    methods_at: dict[str, set[str]] = {}
    items_of: set[str] = set()
    for method, endpoint, _ in ops:
        methods_at.setdefault(endpoint, set()).add(method)
        parts = endpoint.split("/")
        if len(parts) > 1 and _is_param(parts[1]):
            items_of.add(parts[0])
    derived: dict[tuple[str, str], tuple[str, str]] = {}
    for method, endpoint, query in ops:
        parts = endpoint.split("/")
        resource = kebab(parts[0])
        action = "-".join(kebab(p) for p in parts[1:] if not _is_param(p))
        on_item = len(parts) > 1 and _is_param(parts[-1])
        methods = methods_at[endpoint]
        if on_item:
            verb = _ITEM_VERBS.get(method, method.lower())
            if method == "PUT" and "PATCH" in methods:
                verb = "replace"
        elif method == "GET":
            pages = bool(query & _PAGING_PARAMS)
            verb = "list" if pages or (not action and parts[0] in items_of) else "get"
        else:
            verb = _COLLECTION_VERBS.get(method, method.lower())
            if method == "PUT" and "PATCH" in methods:
                verb = "replace"
        if action:
            verb = f"{action}-{verb}" if on_item or len(methods) > 1 else action
        derived[(method, endpoint)] = table.get((method, endpoint), (resource, verb))
    for suffix in ("method", "number"):
        seen: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for key, name in derived.items():
            seen.setdefault(name, []).append(key)
        for name, keys in seen.items():
            if len(keys) < 2:
                continue
            for number, (method, endpoint) in enumerate(keys, start=1):
                extra = method.lower() if suffix == "method" else str(number)
                derived[(method, endpoint)] = (name[0], f"{name[1]}-{extra}")
    return derived


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


def short_aliases(
    variants: Iterable[Iterable[str]], taken: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """``{alias: (field names it stands for)}`` for fields spread over ``variants``.

    An alias may stand for different fields in different variants (``--video`` is
    ``videoUri`` for one model and ``promptVideo`` for another): it is dropped when one
    variant has two fields with that alias (ambiguous) or when it equals a name in
    ``taken`` (the operation's own flags and the command's options).
    """
    blocked = {kebab(t).lstrip("-") for t in taken}
    found: dict[str, list[str]] = {}
    ambiguous: set[str] = set()
    for names in variants:
        mine: dict[str, str] = {}
        for name in names:
            alias = short_alias(name)
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


# --------------------------------------------------------------------------- command tables

#: The reference CLI's singular groups, as aliases onto the derived resource commands
#: (no second implementation: the alias builds the derived command).
REFERENCE_ALIASES: dict[tuple[str, ...], tuple[str, str]] = {
    **{("avatar", verb): ("avatars", verb)
       for verb in ("list", "get", "create", "update", "delete")},
    ("avatar", "conversations"): ("avatar-conversations", "list"),
    ("avatar", "conversation"): ("avatar-conversations", "get"),
    ("avatar", "conversation-delete"): ("avatar-conversations", "delete"),
    ("avatar", "usage"): ("avatar-usage", "get"),
    **{("document", verb): ("documents", verb)
       for verb in ("list", "get", "create", "update", "delete")},
    **{("voice", verb): ("voices", verb)
       for verb in ("list", "get", "create", "update", "delete", "preview")},
    **{("realtime", verb): ("realtime-sessions", verb) for verb in ("create", "get", "delete")},
    **{("workflow", verb): ("workflows", verb) for verb in ("list", "get", "run")},
    ("workflow", "invocation"): ("workflow-invocations", "get"),
}

#: Generation command → model endpoint. Everything else about these commands (models,
#: flags, defaults, help) comes from the spec.
GENERATION_COMMANDS: dict[tuple[str, ...], str] = {
    ("video",): "text_to_video",
    ("text-to-video",): "text_to_video",
    ("image-to-video",): "image_to_video",
    ("video-to-video",): "video_to_video",
    ("image",): "text_to_image",
    ("character-performance",): "character_performance",
    ("sound-effect",): "sound_effect",
    ("text-to-speech",): "text_to_speech",
    ("speech-to-speech",): "speech_to_speech",
    ("voice-dubbing",): "voice_dubbing",
    ("voice-isolation",): "voice_isolation",
    ("avatar", "video"): "avatar_videos",
}

#: ``runway generate PROMPT --kind KIND`` → the generation command it routes to.
GENERATE_KINDS: dict[str, tuple[str, ...]] = {
    "image": ("image",),
    "video": ("video",),
    "image-to-video": ("image-to-video",),
    "text-to-speech": ("text-to-speech",),
    "sound-effect": ("sound-effect",),
    "video-to-video": ("video-to-video",),
}

#: The short kinds people bring from other tools (the reference CLI's among them).
GENERATE_KIND_ALIASES: dict[str, str] = {
    "t2i": "image", "t2v": "video", "i2v": "image-to-video", "v2v": "video-to-video",
    "tts": "text-to-speech", "sfx": "sound-effect",
}
