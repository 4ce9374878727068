"""``runway spec show|pull|diff|pack``: which spec is in use, and managing spec files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from runway_dynamic._constants import DEFAULT_SPEC_URL
from runway_dynamic._exceptions import RunwayError, SpecError, UsageError
from runway_dynamic.cli._context import current, echo, emit_json

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


def _etag_path(target: Path) -> Path:
    return target.with_name(target.name + ".etag")


def _read_etag(target: Path, url: str) -> str | None:
    """The ETag saved by the last pull of ``url``, if the pulled file is still there."""
    import orjson

    try:
        saved = orjson.loads(_etag_path(target).read_bytes())
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


def pull(
    url: Annotated[str, typer.Option("--url", metavar="URL",
                                     help="Where to download the spec from.")] = DEFAULT_SPEC_URL,
    json: JsonOption = False,
) -> int:
    """Download the official spec into the user cache (conditional GET).

    The download is parsed and its catalog built before it replaces the cached copy
    (atomically), so a failed pull keeps the spec you had. The server's ETag is kept beside
    the file, and the next pull of the same URL asks only for changes.
    """
    import orjson

    from runway_dynamic._files import atomic_write_bytes
    from runway_dynamic.sources import SpecDocument, SpecSource, fetch, pulled_spec_path
    from runway_dynamic.spec import Spec

    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--url must be an http:// or https:// URL, got {url!r}")
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
    atomic_write_bytes(target, data)
    new_etag = response.headers.get("etag")
    if new_etag:
        atomic_write_bytes(_etag_path(target), orjson.dumps({"url": url, "etag": new_etag}))
    else:
        _etag_path(target).unlink(missing_ok=True)
    summary = spec.catalog.summary()
    result: dict[str, Any] = {
        "status": "updated", "url": url, "path": str(target), "etag": new_etag,
        "sha256": spec.sha256, "apiVersion": summary["apiVersion"],
        "operations": summary["operations"], "models": summary["models"]}
    if as_json:
        emit_json(result)
    else:
        echo(f"saved {url} to {target}")
        echo(f"API version {summary['apiVersion']}, {summary['operations']} operations, "
             f"{summary['models']} models, sha256 {spec.sha256[:16]}…")
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
