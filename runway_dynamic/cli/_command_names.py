"""The CLI's command words: how ``runway RESOURCE VERB`` is named for every operation of the
spec, and the fixed command tables (generation commands, ``generate --kind``, the reference
CLI's aliases).

These are command-line words, so they live in the CLI layer; the library speaks in
endpoints and fields (:mod:`runway_dynamic.naming`), and a library setting that accepts a
command's name (``default-model.video``) is given this table by the CLI
(:func:`generation_endpoints`).
"""

from __future__ import annotations

from collections.abc import Iterable

from runway_dynamic.naming import kebab

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


def generation_endpoints() -> dict[str, str]:
    """``{command name: endpoint}`` for the generation commands, their words joined by
    ``-`` (``video`` → ``text_to_video``, ``avatar-video`` → ``avatar_videos``): the
    names ``runway config`` accepts in ``default-model.<command>``."""
    return {"-".join(words): endpoint for words, endpoint in GENERATION_COMMANDS.items()}
