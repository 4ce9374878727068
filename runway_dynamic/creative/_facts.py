"""What the creative commands need to know about a model, read from the catalog only.

Which text field carries the prompt and how long it may be, which ratio a model accepts
closest to the one wanted, which duration value fits, and which field takes reference
images: all decided from the variant's schema, so a newer spec needs no change here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from runway_dynamic._constants import RATIO_PROPERTY
from runway_dynamic._exceptions import UsageError
from runway_dynamic._frozen import Frozen
from runway_dynamic.catalog import (
    Catalog,
    Field,
    MediaFacts,
    Variant,
    closest_ratios,
    flatten_object,
    media_facts,
    ratio_aspect,
)
from runway_dynamic.naming import closest

#: The body field that carries the text prompt in Runway's generation bodies.
PROMPT_PROPERTY = "promptText"
DURATION_PROPERTY = "duration"
SEED_PROPERTY = "seed"
AUDIO_PROPERTY = "audio"
#: A shot length people expect when nothing else says otherwise (seconds).
TYPICAL_SHOT_SECONDS = 5.0
#: Aspect words people type, as width:height shapes (the model's closest ratio is used).
ASPECT_WORDS = {
    "landscape": "16:9", "wide": "16:9", "horizontal": "16:9",
    "portrait": "9:16", "vertical": "9:16", "tall": "9:16",
    "square": "1:1",
}


def require_variant(catalog: Catalog, endpoint: str, model: str) -> Variant:
    """The (endpoint, model) variant, or a :class:`UsageError` naming the models that fit."""
    variant = catalog.variant(endpoint, model)
    if variant is not None:
        return variant
    models = catalog.models(endpoint)
    near = closest(model, models)
    elsewhere = catalog.endpoints_for(model)
    hint = f"; closest: {', '.join(near)}" if near else ""
    also = f" ({model} serves {', '.join(elsewhere)})" if elsewhere else ""
    raise UsageError(
        f"model {model!r} does not serve {endpoint}{also}{hint}. "
        f"Models for {endpoint}: {', '.join(models) or 'none in this spec'}"
    )


def pick_model(catalog: Catalog, endpoint: str, wanted: str | None = None,
               *, also_serves: Sequence[str] = (), can_fill: Sequence[str] | None = None) -> str:
    """``wanted`` if it serves ``endpoint`` (and ``also_serves``), else the spec's first one.

    With ``can_fill``, the default is the first model whose required fields are all among
    those names (a model that insists on, say, reference images is skipped without them).
    """
    if wanted:
        require_variant(catalog, endpoint, wanted)
        for other in also_serves:
            require_variant(catalog, other, wanted)
        return wanted
    for model in catalog.models(endpoint):
        if not all(catalog.variant(other, model) is not None for other in also_serves):
            continue
        variant = catalog.variant(endpoint, model)
        if can_fill is not None and variant is not None and not set(variant.required) <= set(
                can_fill):
            continue
        return model
    need = " and ".join([endpoint, *also_serves])
    raise UsageError(f"this spec has no model serving {need}")


def prompt_field(variant: Variant) -> Field | None:
    """The field that carries the text prompt (``promptText``, else a string ``*prompt*`` one)."""
    found = variant.field_map.get(PROMPT_PROPERTY)
    if found is not None:
        return found
    for field in variant.fields:
        if "prompt" in field.name.lower() and field.kind == "string" and field.media is None:
            return field
    return None


def prompt_limit(variant: Variant) -> int | None:
    field = prompt_field(variant)
    if field is None:
        return None
    limit = field.schema.get("maxLength")
    return int(limit) if isinstance(limit, int) else None


def normalise_ratio(text: str) -> str:
    """``9:16``/``9x16``/``portrait`` → a ``W:H`` shape (checked against a model later)."""
    value = text.strip().lower().replace("x", ":").replace("/", ":")
    value = ASPECT_WORDS.get(value, value)
    if ratio_aspect(value) is None:
        raise UsageError(f"--ratio {text!r} is not W:H (e.g. 1280:720, 9:16) or "
                         f"one of {', '.join(sorted(ASPECT_WORDS))}")
    return value


def fit_ratio(variant: Variant, wanted: str | None) -> tuple[str | None, str | None]:
    """(ratio to send, note) for ``wanted`` on this variant.

    An accepted ratio is kept; another shape becomes the accepted ratio of nearest aspect
    (the note says so); ``None`` keeps the spec's first ratio. A variant without a closed
    ratio set takes ``wanted`` as given, or no ratio at all; when its ratios are an open
    enum, a shape it lists in another form (``9:16`` for ``1080:1920``) is sent as listed.
    """
    accepted = variant.ratios
    if accepted is None:
        field = variant.field_map.get(RATIO_PROPERTY)
        if field is None or wanted is None:
            return None if field is None else wanted, None
        listed = _listed_form(variant.known_ratios or (), wanted)
        if listed is not None and listed != wanted:
            return listed, f"{variant.key} lists {wanted} as {listed}; using {listed}"
        return wanted, None
    sized = [r for r in accepted if ratio_aspect(r) is not None]
    if wanted is None:
        return (sized[0] if sized else accepted[0]), None
    if wanted in accepted:
        return wanted, None
    shape = normalise_ratio(wanted)
    if shape in accepted:
        return shape, None
    near = closest_ratios(_scaled(shape), sized, 1)
    if not near:
        raise UsageError(f"{variant.key} accepts no W:H ratio; it takes {', '.join(accepted)}")
    return near[0], f"{variant.key} does not accept {wanted}; using its closest ratio {near[0]}"


def _listed_form(known: Sequence[str], wanted: str) -> str | None:
    """The known ratio with exactly ``wanted``'s aspect (the first, by the spec's order)."""
    if wanted in known:
        return wanted
    aspect = ratio_aspect(wanted)
    if aspect is None:
        return None
    return next((r for r in known if (a := ratio_aspect(r)) is not None
                 and abs(a - aspect) < 1e-9), None)


def _scaled(shape: str) -> str:
    """``9:16`` → ``1080:1920``: an area like real ratios, so area ties break sensibly."""
    w, _, h = shape.partition(":")
    width, height = float(w), float(h)
    factor = math.sqrt(1280 * 720 / (width * height))
    return f"{round(width * factor)}:{round(height * factor)}"


def duration_field(variant: Variant) -> Field | None:
    return variant.field_map.get(DURATION_PROPERTY)


def fit_duration(field: Field | None, seconds: float | None) -> int | float | None:
    """The value nearest ``seconds`` that the field allows (enum, bounds, integer-ness).

    ``None`` when the variant has no duration field; ``seconds=None`` means the field's
    default, else a typical shot length.
    """
    if field is None:
        return None
    schema = field.schema
    if seconds is None:
        default = schema.get("default")
        seconds = float(default) if isinstance(default, (int, float)) else TYPICAL_SHOT_SECONDS
    choices = [c for c in field.choices or () if isinstance(c, (int, float))]
    if choices:
        return min(choices, key=lambda c: (abs(c - seconds), -c))
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value = float(seconds)
    if isinstance(low, (int, float)):
        value = max(value, float(low))
    if isinstance(high, (int, float)):
        value = min(value, float(high))
    if field.kind == "integer":
        rounded = round(value)
        if isinstance(low, (int, float)) and rounded < low:
            rounded = math.ceil(low)
        if isinstance(high, (int, float)) and rounded > high:
            rounded = math.floor(high)
        return rounded
    return value


class ReferenceSlot(Frozen):
    """Where reference images go for one variant, found from its schema.

    ``array`` slots take ``[{"uri": ...}, ...]`` up to ``max_items``; ``single`` slots take
    one media value.
    """

    _fields = ("field", "shape", "max_items", "media")
    field: str
    shape: str  # "array" or "single"
    max_items: int | None
    media: MediaFacts | None

    def __init__(self, field: str, shape: str, max_items: int | None,
                 media: MediaFacts | None) -> None:
        self._set(field=field, shape=shape, max_items=max_items, media=media)

    def body_value(self, uris: Sequence[str]) -> Any:
        if self.shape == "single":
            return uris[0]
        return [{"uri": uri} for uri in uris]


def _image_media(facts: MediaFacts | None) -> bool:
    if facts is None:
        return False
    prefix = facts.data_mime_prefix
    return prefix is None or prefix.startswith("image")


def reference_slot(variant: Variant, *, include_single: bool = True) -> ReferenceSlot | None:
    """The field taking reference images: an array whose items have an image ``uri`` (first
    choice), else — with ``include_single`` — a single image media field."""
    for field in variant.fields:
        if field.kind != "array":
            continue
        items = field.schema.get("items")
        if not isinstance(items, Mapping):
            continue
        properties, _ = flatten_object(items)
        uri = properties.get("uri")
        if isinstance(uri, Mapping) and _image_media(media_facts(uri)):
            max_items = field.schema.get("maxItems")
            return ReferenceSlot(field.name, "array",
                                 int(max_items) if isinstance(max_items, int) else None,
                                 media_facts(uri))
    if include_single:
        for field in variant.fields:
            if _image_media(field.media):
                return ReferenceSlot(field.name, "single", 1, field.media)
    return None


def first_image_field(variant: Variant) -> Field | None:
    """The variant's single image input (``promptImage`` on image_to_video), from its media."""
    for field in variant.fields:
        if field.kind != "array" and _image_media(field.media):
            return field
    return None
