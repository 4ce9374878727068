"""``runway spec show|pull|diff|pack``: which spec is in use, and managing spec files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runway_dynamic._constants import DEFAULT_SPEC_URL
from runway_dynamic._exceptions import RunwayError, SpecError, UsageError
from runway_dynamic.cli._context import current, echo, emit_json

if TYPE_CHECKING:
    from runway_dynamic.spec import Spec

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def show(json: JsonOption = False) -> int:
    """Show which spec is in use: source, API version, sha256, counts.

    Sources, first match wins: --spec, $RUNWAY_SPEC, the spec saved by 'runway spec pull',
    the snapshot bundled with the package.
    """
    spec = current().spec()
    summary = spec.catalog.summary()
    facts: dict[str, Any] = {
        "source": {"kind": spec.source.kind, "location": spec.source.location},
        "title": spec.catalog.title,
        "openapi": summary["openapi"],
        "apiVersion": summary["apiVersion"],
        "sha256": spec.sha256,
        "operations": summary["operations"],
        "endpoints": summary["endpoints"],
        "models": summary["models"],
        "variants": summary["variants"],
    }
    if current().wants_json(json):
        emit_json(facts)
        return 0
    rows = [
        ("source", f"{spec.source.kind}: {spec.source.location}"),
        ("title", str(facts["title"])),
        ("openapi", str(facts["openapi"])),
        ("api version", str(facts["apiVersion"])),
        ("sha256", spec.sha256),
        ("operations", str(facts["operations"])),
        ("endpoints", f"{facts['endpoints']} (taking a model)"),
        ("models", str(facts["models"])),
        ("variants", f"{facts['variants']} (endpoint, model) pairs"),
    ]
    for key, value in rows:
        echo(f"{key + ':':13}{value}")
    return 0


# --------------------------------------------------------------------------- pull


def _read_etag(target: Path, url: str) -> str | None:
    """The ETag saved by the last pull of ``url``, if the pulled file is still there."""
    import orjson

    from runway_dynamic.spec_update import etag_path

    try:
        saved = orjson.loads(etag_path(target).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not target.is_file() or not isinstance(saved, dict) or saved.get("url") != url:
        return None
    etag = saved.get("etag")
    return etag if isinstance(etag, str) else None


def _cache_kept(exc: SpecError, url: str) -> SpecError:
    """The same error (its class and data kept: a limit stays a limit), said of ``url``,
    adding that the spec in use did not change."""
    exc.reason = f"{exc.reason}; the cached spec is unchanged"
    exc.source = url
    exc.message = f"{url}: {exc.reason}"
    exc.args = (exc.message,)
    return exc


def _replaced_spec() -> Spec:
    """The spec a pull replaces: the pulled one, else (or when it no longer loads) the
    bundled snapshot. ``--spec`` and ``RUNWAY_SPEC`` only override it while set."""
    from runway_dynamic.sources import SpecSource, bundled_spec_path, pulled_spec_path, read_source
    from runway_dynamic.spec import Spec

    pulled = pulled_spec_path()
    if pulled.is_file():
        try:
            return Spec.from_document(read_source(SpecSource("cache", str(pulled))))
        except SpecError:
            pass
    return Spec.from_document(read_source(SpecSource("bundled", str(bundled_spec_path()))))


def _spec_facts(spec: Spec) -> str:
    summary = spec.catalog.summary()
    return (f"API version {summary['apiVersion']}, {summary['operations']} operations, "
            f"{summary['models']} models, sha256 {spec.sha256[:16]}…")


def pull(
    url: Annotated[str | None, typer.Argument(
        metavar="[URL]", help=f"Where to download the spec from (default {DEFAULT_SPEC_URL}).",
        show_default=False)] = None,
    url_option: Annotated[str | None, typer.Option(
        "--url", metavar="URL", help="The same as URL.", show_default=False)] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Install the spec even when the review refuses it.")] = False,
    json: JsonOption = False,
) -> int:
    """Download the official spec into the user cache (conditional GET).

    The download is parsed and its catalog built, then compared with the spec it replaces
    (the change summary is shown, as 'runway spec diff' would). It is refused, unless
    --force, when it has no model endpoints, lacks an operation the client calls itself
    (GET/DELETE tasks/{id}, POST uploads) or removes more than a quarter of the operations.
    A failed or refused pull keeps the spec you had. The replaced spec is kept:
    'runway spec rollback' returns to it. The server's ETag is kept beside the file, and
    the next pull of the same URL asks only for changes.
    """
    import orjson

    from runway_dynamic._files import atomic_write_bytes
    from runway_dynamic.sources import SpecDocument, SpecSource, fetch, pulled_spec_path
    from runway_dynamic.spec import Spec
    from runway_dynamic.spec_update import SpecUpdateRefused, install, review_update

    if url and url_option and url != url_option:
        raise UsageError(f"two URLs given ({url} and --url {url_option}): give one")
    url = url or url_option or DEFAULT_SPEC_URL
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"URL must be an http:// or https:// URL, got {url!r}")
    boundary = current().boundary
    boundary.check_outbound(url, "spec pull")
    target = pulled_spec_path()
    etag = _read_etag(target, url)
    headers = {"If-None-Match": etag} if etag else {}
    try:
        # Streamed and bounded by spec-max-bytes, like every spec source; under --sandbox
        # every request (redirects too) must stay on loopback.
        response = fetch(url, headers=headers, raise_for_status=False,
                         guard=boundary.request_guard("spec pull"))
    except SpecError as exc:
        raise _cache_kept(exc, url) from None
    as_json = current().wants_json(json)
    if response.status == 304 and etag:
        unchanged = {"status": "unchanged", "url": url, "path": str(target), "etag": etag}
        emit_json(unchanged) if as_json else echo(f"{target} is up to date ({url}, ETag {etag})")
        return 0
    if response.status != 200:
        raise SpecError(f"download failed with HTTP {response.status}; the cached spec is "
                        "unchanged", source=url)
    data = response.content
    # Parse and derive the catalog first: a broken document must not replace a good one.
    document = SpecDocument(SpecSource("cache", str(target)), data)
    try:
        spec = Spec.from_document(document)
    except SpecError as exc:
        raise _cache_kept(exc, url) from None
    replaced = _replaced_spec()
    review = review_update(replaced.catalog, spec.catalog)
    new_etag = response.headers.get("etag")
    record = orjson.dumps({"url": url, "etag": new_etag}) if new_etag else None
    same = target.is_file() and replaced.sha256 == spec.sha256
    if not as_json:
        echo(review.diff.render(old_label=f"in use ({replaced.source.kind})", new_label=url))
    if not review.safe and not force and not same:
        raise SpecUpdateRefused(review.reasons, review.diff, source=url)
    if same:  # the same document again (a server without ETags): only the record changes
        from runway_dynamic.spec_update import etag_path

        if record is None:
            etag_path(target).unlink(missing_ok=True)
        else:
            atomic_write_bytes(etag_path(target), record)
    else:
        install(data, record)
    summary = spec.catalog.summary()
    result: dict[str, Any] = {
        "status": "unchanged" if same else "updated", "url": url, "path": str(target),
        "etag": new_etag, "sha256": spec.sha256, "apiVersion": summary["apiVersion"],
        "operations": summary["operations"], "models": summary["models"],
        "forced": list(review.reasons) if not review.safe and not same else [],
        "diff": review.diff.to_dict()}
    if as_json:
        emit_json(result)
        return 0
    echo("")
    if same:
        echo(f"{target} already holds this spec ({url})")
    else:
        if result["forced"]:
            echo(f"installed despite: {'; '.join(review.reasons)} (--force)")
        echo(f"saved {url} to {target}; 'runway spec rollback' returns to the spec it replaced")
    echo(_spec_facts(spec))
    return 0


def rollback(json: JsonOption = False) -> int:
    """Return to the spec the last 'runway spec pull' replaced (again: undo the rollback).

    The previous spec is checked to load before it is put back; the bundled snapshot is
    in use again when nothing had been pulled before.
    """
    from runway_dynamic.sources import SpecDocument, SpecSource, pulled_spec_path
    from runway_dynamic.spec import Spec
    from runway_dynamic.spec_update import previous_bytes, previous_spec_path
    from runway_dynamic.spec_update import rollback as swap

    data = previous_bytes()  # SpecError when there is nothing to roll back to
    if data is not None:
        Spec.from_document(SpecDocument(SpecSource("cache", str(previous_spec_path())), data))
    swap()
    back = _replaced_spec()
    as_json = current().wants_json(json)
    facts = {"status": "rolled-back", "source": back.source.kind,
             "path": str(pulled_spec_path()) if data is not None else back.source.location,
             "sha256": back.sha256, "apiVersion": back.catalog.api_version}
    if as_json:
        emit_json(facts)
        return 0
    where = "the pulled spec" if data is not None else "the bundled snapshot (nothing pulled)"
    echo(f"rolled back to {where}: {_spec_facts(back)}")
    echo("'runway spec rollback' again returns to the spec you left")
    return 0


# --------------------------------------------------------------------------- diff


def diff(
    old: Annotated[str, typer.Argument(metavar="OLD", help="Old spec: a path or URL.",
                                       show_default=False)],
    new: Annotated[str, typer.Argument(metavar="NEW", help="New spec: a path or URL.",
                                       show_default=False)],
    json: JsonOption = False,
    exit_code: Annotated[bool, typer.Option(
        "--exit-code", help="Exit 1 when the specs differ (like git diff --exit-code).")] = False,
) -> int:
    """Compare two specs: models, endpoints, fields, required-ness, ratios.

    Compares the catalogs derived from the two documents (not their text), so moving a
    schema into components or rewording a description shows no change.
    """
    from runway_dynamic.spec import Spec
    from runway_dynamic.spec_diff import diff_catalogs

    before = Spec.load(old)
    after = Spec.load(new)
    changes = diff_catalogs(before.catalog, after.catalog)
    if current().wants_json(json):
        emit_json(changes.to_dict())
    else:
        echo(changes.render(old_label=old, new_label=new))
    return 1 if exit_code and changes else 0


# --------------------------------------------------------------------------- pack


def pack(
    official: Annotated[str, typer.Argument(metavar="OFFICIAL",
                                            help="The official spec: a path or URL.",
                                            show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="PATH",
        help="Where to write the snapshot (default: print it).")] = None,
) -> int:
    """Write a compact, facts-only snapshot of an official spec.

    Keeps structure, names, types, enums, limits and defaults; drops descriptions,
    examples and vendor extensions. The snapshot is checked to derive the same catalog as
    the original before it is written (deterministic JSON, written atomically).
    """
    import json as jsonlib

    from runway_dynamic._files import atomic_write_bytes
    from runway_dynamic.catalog import build_catalog
    from runway_dynamic.pack import pack_document
    from runway_dynamic.sources import load_document, parse_document

    source = load_document(official)
    packed = pack_document(source.document)
    text = jsonlib.dumps(packed, indent=1, ensure_ascii=False) + "\n"
    data = text.encode()
    origin = str(output or "<packed>")
    before = build_catalog(source.document, source=official).to_dict()
    after = build_catalog(parse_document(data, origin), source=origin).to_dict()
    if before != after:
        raise RunwayError("packing changed the derived catalog; nothing written (please report "
                          "this as a bug with the spec attached)")
    if output is None:
        echo(text.rstrip("\n"))
        return 0
    atomic_write_bytes(output, data)
    _note(f"wrote {output} ({len(data):,} bytes, from {len(source.data):,})")
    return 0


def _note(message: str) -> None:
    import sys

    sys.stderr.write(message + "\n")
