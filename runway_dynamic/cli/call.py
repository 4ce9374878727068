"""``runway call ENDPOINT``: any operation of the spec, with flags synthesised from it.

Only the invoked operation's flags are built (the endpoint and ``--method`` are read from
argv first). Path and query parameters and body fields become typed flags; for a model
endpoint the flags are the union over its models and ``--model`` picks the variant. Flags
default to "not given": only what the user sets goes into the request, merged over
``--body``. Pre-flight runs before anything is sent; ``--dry-run`` prints the exact request.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from runway_dynamic._exceptions import PreflightError, UsageError
from runway_dynamic.catalog import Catalog, Operation
from runway_dynamic.cli._context import Invocation, current, dumps, echo, emit_json, warn
from runway_dynamic.cli._options import (
    ALLOW_UNKNOWN_MODEL,
    BODY,
    DRY_RUN,
    ENDPOINT,
    JSON,
    LIST,
    METHOD,
    CommandOptions,
    run_options,
)
from runway_dynamic.cli._registry import Built
from runway_dynamic.cli._run import runs_task
from runway_dynamic.coerce import parse_json
from runway_dynamic.naming import closest, endpoint_name

if TYPE_CHECKING:
    from runway_dynamic._http import PreparedRequest
    from runway_dynamic._problems import Problem
    from runway_dynamic.spec import Spec

_VALUE_OPTIONS = ("--method", "--body")


# --------------------------------------------------------------------------- resolution


def peek(args: Sequence[str]) -> tuple[str | None, str | None]:
    """The endpoint (first positional) and ``--method`` value, read before typer runs."""
    endpoint = method = None
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            if endpoint is None and index + 1 < len(args):
                endpoint = args[index + 1]
            break
        name, eq, value = arg.partition("=")
        if name in _VALUE_OPTIONS:
            if not eq:
                index += 1
                value = args[index] if index < len(args) else ""
            if name == "--method":
                method = value
        elif not arg.startswith("-") and endpoint is None:
            endpoint = arg
        index += 1
    return endpoint, method


def _match_template(template: str, concrete: str) -> dict[str, str] | None:
    want, have = template.split("/"), concrete.split("/")
    if len(want) != len(have):
        return None
    values: dict[str, str] = {}
    for pattern, part in zip(want, have, strict=True):
        if pattern.startswith("{") and pattern.endswith("}"):
            if not part:
                return None
            values[pattern[1:-1]] = unquote(part)
        elif pattern != part:
            return None
    return values


def resolve(catalog: Catalog, token: str, method: str | None
            ) -> tuple[Operation, dict[str, str]]:
    """The operation for ``token`` (a template like ``tasks/{id}`` or a path like
    ``tasks/1234``) and the path parameter values read from a concrete path."""
    name = endpoint_name(token) if token.startswith("/") else token.strip("/")
    operations = catalog.operations_for(name)
    values: dict[str, str] = {}
    if not operations:
        best: tuple[int, str, dict[str, str]] | None = None
        for template in catalog.all_endpoints():
            found = _match_template(template, name)
            if found is not None:
                literal = len(template.split("/")) - len(found)
                if best is None or literal > best[0]:
                    best = (literal, template, found)
        if best is None:
            near = closest(name, catalog.all_endpoints())
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise UsageError(f"unknown endpoint {token!r}{hint} Run 'runway call --list' for "
                             "every endpoint.")
        _, name, values = best
        operations = catalog.operations_for(name)
    methods = [op.method for op in operations]
    if method:
        chosen = [op for op in operations if op.method == method.upper()]
        if not chosen:
            raise UsageError(f"{name} has no {method.upper()} operation; it takes "
                             f"{', '.join(methods)}")
        return chosen[0], values
    if len(operations) == 1:
        return operations[0], values
    reads = [op for op in operations if op.is_read]
    if reads:
        return reads[0], values  # the safe default; others need --method
    raise UsageError(f"{name} takes {', '.join(methods)}: pass --method")


# --------------------------------------------------------------------------- building


def command_options(operation: Operation | None) -> CommandOptions:
    """The options of ``runway call`` for ``operation``: its own (the run options too when
    the operation creates a task), then a flag for every parameter and body field."""
    own = [METHOD, BODY, DRY_RUN, JSON, LIST]
    if operation is not None and runs_task(operation):
        own += run_options()  # --wait, --download, --output-dir… (runway_dynamic.cli._run)
    if operation is not None and operation.is_model_endpoint:
        own.append(ALLOW_UNKNOWN_MODEL)
    options = CommandOptions(own=own, arguments=[ENDPOINT])
    if operation is not None:
        options.claim(operation)
    return options


def build(invocation: Invocation, args: list[str]) -> Built:
    """The ``call`` command for the operation named in ``args`` (or a generic one)."""
    token, method = peek(args)
    if token is None:
        return Built(_command(None, command_options(None), {}), help=_generic_help(),
                     epilog=None)
    spec = invocation.spec()
    operation, path_values = resolve(spec.catalog, token, method)
    options = command_options(operation)
    return Built(_command(operation, options, path_values),
                 help=_operation_help(spec.catalog, operation, options))


def _generic_help() -> str:
    return (
        "Call any operation of the spec, with flags from the spec.\n\n"
        "ENDPOINT is an API path without /v1/: a template (tasks/{id}) or a concrete path "
        "(tasks/1234). Run 'runway call ENDPOINT --help' for its flags, and "
        "'runway call --list' for every endpoint."
    )


def _operation_help(catalog: Catalog, operation: Operation, options: CommandOptions) -> str:
    lines = [f"{operation.method} {operation.path}"]
    others = [op.method for op in catalog.operations_for(operation.endpoint) if op is not operation]
    if others:
        lines.append(f"Also {', '.join(others)} at this endpoint: add --method "
                     f"{others[0]} for {'it' if len(others) == 1 else 'one of them'}.")
    if operation.variants and operation.discriminator:
        flag = options.flag_for(operation.discriminator)
        lines.append(
            f"{flag} selects the variant; the flags below are the union over "
            f"{len(operation.variants)} variants."
            + (" 'runway models schema MODEL' shows one model's fields." if
               operation.is_model_endpoint else "")
        )
    lines.append("Only the flags you give are sent, merged over --body.")
    return "\n\n".join(lines)


def list_operations(catalog: Catalog) -> str:
    rows = [(op.method, op.endpoint) for op in catalog.operations]
    width = max(len(m) for m, _ in rows) + 1
    return "\n".join(f"{m.ljust(width)}{e}" for m, e in rows)


def _command(operation: Operation | None, options: CommandOptions,
             path_values: dict[str, str]) -> Callable[..., int]:
    def run(values: dict[str, Any]) -> int:
        values.pop("endpoint", None)
        if values.pop("list_all"):
            echo(list_operations(current().spec().catalog))
            return 0
        if operation is None:
            raise UsageError("missing ENDPOINT; run 'runway call --list' for every endpoint")
        return execute(current(), operation, options, path_values, values)

    return options.command(run)


# --------------------------------------------------------------------------- running


def read_body(raw: str | None) -> Any:
    """``--body``: JSON text, ``@file`` or ``-`` for stdin."""
    if raw is None:
        return None
    where = "--body"
    if raw == "-":
        text = sys.stdin.read()
        where = "--body - (stdin)"
    elif raw.startswith("@"):
        path = os.path.expanduser(raw[1:])
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise UsageError(f"--body: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"--body: {path} is not UTF-8 text") from None
        where = f"--body {raw}"
    else:
        text = raw
    if not text.strip():
        raise UsageError(f"{where}: empty; give a JSON object such as '{{\"model\": \"...\"}}'")
    return parse_json(text, where)


def execute(invocation: Invocation, operation: Operation, options: CommandOptions,
            path_values: Mapping[str, str], values: dict[str, Any],
            render: Callable[[Any], None] = emit_json) -> int:
    """Build, pre-flight and send one request; ``render`` prints the answer (resource
    commands pass their table/YAML renderer)."""
    from runway_dynamic.cli import _clients, _run
    from runway_dynamic.uploads import placeholder_uploader, resolve_body_media

    as_json = invocation.wants_json(values.pop("json"))
    invocation.json = as_json
    running = _run.RunOptions.pop(values) if "wait" in values else None
    dry_run = values.pop("dry_run")
    allow_unknown = bool(values.pop("allow_unknown_model", False))
    body = read_body(values.pop("body", None))
    given = options.given(values)
    discriminator = operation.discriminator
    variant_key = None
    for spec in given:
        if spec.location == "body" and spec.name == discriminator:
            variant_key = str(given[spec])
    if variant_key is None and isinstance(body, Mapping) and discriminator:
        chosen = body.get(discriminator)
        variant_key = chosen if isinstance(chosen, str) else None
    if variant_key is not None and operation.variant(variant_key) is None:
        variant_key = None
    if not discriminator and operation.variants:
        variant_key = operation.variants[0].key

    path_params: dict[str, Any] = dict(path_values)
    query: dict[str, Any] = {}
    headers: dict[str, str] = {}
    body_fields: dict[str, Any] = {}
    for spec, raw in given.items():
        value = options.value(spec, raw, variant_key)
        if spec.location == "path":
            if spec.name in path_values and str(value) != path_values[spec.name]:
                raise UsageError(f"{spec.flag} {value!r} disagrees with the endpoint path "
                                 f"({path_values[spec.name]!r}); give it once")
            path_params[spec.name] = value
        elif spec.location == "query":
            query[spec.name] = value
        elif spec.location == "header":
            headers[spec.name] = str(value)
        else:
            body_fields[spec.name] = value

    if body_fields or options.nested_given(values):
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise UsageError("--body must be a JSON object when body flags are also given")
        body = options.merge_nested({**body, **body_fields}, values, variant_key)
    if body is None and operation.variants and operation.body_required:
        body = {}
    # Local files in media fields: a stand-in URI for pre-flight and --dry-run; the real
    # data:/runway:// value is made just before sending (an upload needs the client).
    raw_body = body
    body = resolve_body_media(operation, variant_key, raw_body, placeholder_uploader,
                              options.flag_or_name)

    loaded = invocation.spec()
    found = _param_problems(operation, path_params, query)
    if body is not None or not operation.variants:
        found += loaded.preflight(operation.endpoint, body, method=operation.method,
                                  allow_unknown_model=allow_unknown)
    report(operation, found, options, as_json)

    prepared = _prepare(loaded, operation, path_params, query, body, headers)
    if dry_run:
        show_request(prepared, as_json)
        return 0
    with _clients.make_client(invocation, running, preflight=False) as client:
        # Pre-flight already ran here, so the client does not repeat it.
        body = resolve_body_media(operation, variant_key, raw_body, client.upload,
                                  options.flag_or_name)
        if running is not None:
            return _run.submit(invocation, client, operation.endpoint, body, running,
                               extra_headers=headers or None)
        result = client.request(operation.endpoint, method=operation.method,
                                path_params=path_params, query=query, body=body,
                                extra_headers=headers or None)
    if result is not None:
        render(result)
    return 0


def show_request(prepared: PreparedRequest, as_json: bool) -> None:
    """``--dry-run``'s output: the exact request (key redacted), as text or JSON."""
    request = prepared.to_dict()
    if as_json:
        emit_json(request)
        return
    echo(f"{request['method']} {request['url']}")
    for name, value in request["headers"].items():
        echo(f"{name}: {value}")
    if "body" in request:
        echo()
        echo(dumps(request["body"]))


def _param_problems(operation: Operation, path_params: Mapping[str, Any],
                    query: Mapping[str, Any]) -> list[Problem]:
    """Missing required path/query parameters and values outside their enums."""
    from runway_dynamic._problems import NAME, FieldName, Problem, says

    out = []
    for param in operation.parameters:
        given = {"path": path_params, "query": query}.get(param.location)
        if given is None:
            continue
        where = (param.name,)
        if param.name not in given:
            # A required parameter with a spec default (limit=50) is filled by the server.
            if not param.required or "default" in param.schema:
                continue
            what = f"missing required {param.location} parameter "
            if param.location == "path":
                pattern = operation.endpoint.replace("{" + param.name + "}",
                                                     "<" + param.name + ">")
                text = says(what, param.name, "; pass ", FieldName(where, NAME),
                            f", or give the path as {pattern}")
            else:
                text = says(what, FieldName(where))
            out.append(Problem("missing_field", text, where, location=param.location))
            continue
        choices = param.as_field().choices
        values = given[param.name] if isinstance(given[param.name], list) else [given[param.name]]
        bad = [v for v in values if v not in choices] if choices is not None else []
        if bad and choices is not None:
            out.append(Problem(
                "invalid_value", says(FieldName(where), f" must be one of: "
                                      f"{', '.join(map(str, choices))}; got {bad[0]!r}"),
                where, location=param.location, suggestions=tuple(map(str, choices))))
    return out


def report(operation: Operation, problems: list[Problem], options: CommandOptions,
           as_json: bool) -> None:
    """Show pre-flight's warnings; raise :class:`PreflightError` when any problem is an
    error. Fields are named by the flags of this command (``options``)."""
    errors = [p for p in problems if p.is_error]
    if not as_json:
        for problem in problems:
            if not problem.is_error:
                warn(options.describe(problem)["message"])
    elif not errors and problems:
        import orjson

        sys.stderr.write(orjson.dumps(
            {"warnings": [options.describe(p) for p in problems]}).decode() + "\n")
    if errors:
        raise PreflightError(operation.endpoint, problems, describe=options.describe)


def _prepare(spec: Spec, operation: Operation, path_params: Mapping[str, Any],
             query: Mapping[str, Any], body: Any, headers: Mapping[str, str]
             ) -> PreparedRequest:
    from runway_dynamic._http import prepare_request
    from runway_dynamic.cli._clients import api_key, base_url, request_headers

    invocation = current()
    return prepare_request(operation, base_url=base_url(invocation), api_key=api_key(invocation),
                           path_params=path_params, query=query, body=body,
                           extra_headers={**request_headers(invocation), **headers})
