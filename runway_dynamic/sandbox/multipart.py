"""Upload bodies (``multipart/form-data``) streamed to disk, never held whole in memory.

python-multipart parses the stream; this module only decides where the bytes go: form
fields (small, capped) stay in memory, each file part goes to its own file in the
sandbox's upload directory as it arrives. A file part larger than ``max_file_bytes`` stops
being stored at once (its partial file is removed) and the form is marked too large, so
the caller can answer before reading the rest of a 2 GB body.

>>> reader = FormReader(content_type, directory, max_file_bytes=200 * 2**20)  # doctest: +SKIP
>>> for chunk in chunks: reader.feed(chunk)                                    # doctest: +SKIP
>>> form = reader.finish()                                                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header

#: A form field (not a file) longer than this is refused: the upload form has short fields.
MAX_FIELD_BYTES = 64 * 1024
#: More parts than this is not an upload form.
MAX_PARTS = 64


@dataclass(frozen=True)
class StoredFile:
    """A file part written to disk: where, how big, and what the client called it."""

    path: Path
    size: int
    filename: str | None
    content_type: str | None


@dataclass
class Form:
    """A parsed upload form; ``error`` (malformed) or ``too_large`` say why it is unusable."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    error: str | None = None
    too_large: bool = False
    #: The body's size when the client declared it (``Content-Length``), for messages.
    declared_size: int | None = None

    def file(self, name: str = "file") -> StoredFile | None:
        """The file part called ``name``, else the first file part."""
        return self.files.get(name) or next(iter(self.files.values()), None)

    def discard(self) -> None:
        """Remove the stored files (a refused upload keeps nothing)."""
        for stored in self.files.values():
            with contextlib.suppress(OSError):
                stored.path.unlink()
        self.files.clear()


class FormReader:
    """Feed a multipart body chunk by chunk; :meth:`finish` gives the :class:`Form`."""

    def __init__(self, content_type: str, directory: Path, *, max_file_bytes: int) -> None:
        self.form = Form()
        self._directory = directory
        self._max_file = max_file_bytes
        self._parser: MultipartParser | None = None
        self._parts = 0
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._filename: str | None = None
        self._data = bytearray()
        self._handle: IO[bytes] | None = None
        self._path: Path | None = None
        self._size = 0
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            self.form.error = "the upload must be multipart/form-data with a boundary"
            return
        try:
            self._parser = MultipartParser(boundary, {
                "on_part_begin": self._on_part_begin, "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end, "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value, "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
            })
        except Exception as exc:  # python-multipart refuses boundaries it cannot use
            self.form.error = f"unusable multipart boundary: {exc}"

    @property
    def done(self) -> bool:
        """Nothing more is worth reading: the form is malformed or too large."""
        return self.form.error is not None or self.form.too_large

    def feed(self, chunk: bytes) -> None:
        if self.done or self._parser is None or not chunk:
            return
        try:
            self._parser.write(chunk)
        except _Refused:
            pass
        except Exception as exc:  # malformed input, as python-multipart words it
            self.form.error = f"malformed multipart body: {exc}"
        if self.done:
            self._abandon()

    def finish(self) -> Form:
        """The form read so far; a body that ended mid-part is malformed."""
        if not self.done and self._parser is not None:
            try:
                self._parser.finalize()
            except Exception as exc:
                self.form.error = f"malformed multipart body: {exc}"
            if self._handle is not None and not self.done:
                self.form.error = "the multipart body ended inside a part"
        if self.done:
            self._abandon()
            self.form.discard()
        return self.form

    # ---- python-multipart callbacks

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            self._refuse(f"more than {MAX_PARTS} parts")
        self._headers, self._name, self._filename = {}, "", None
        self._data = bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"name" not in options:
            self._refuse("a part without a name in its Content-Disposition")
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self._filename = options[b"filename"].decode("utf-8", "replace")
            descriptor, name = tempfile.mkstemp(prefix="upload-", dir=self._directory)
            self._handle = os.fdopen(descriptor, "wb")
            self._path, self._size = Path(name), 0

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self._handle is None:
            if len(self._data) + size > MAX_FIELD_BYTES:
                self._refuse(f"the form field {self._name!r} is longer than {MAX_FIELD_BYTES} "
                             "bytes")
            self._data += data[start:end]
            return
        self._size += size
        if self._size > self._max_file:
            self.form.too_large = True
            raise _Refused
        self._handle.write(data[start:end])

    def _on_part_end(self) -> None:
        if self._handle is None:
            self.form.fields[self._name] = self._data.decode("utf-8", "replace")
            return
        self._handle.close()
        self._handle = None
        assert self._path is not None
        content_type = self._headers.get(b"content-type")
        self.form.files[self._name] = StoredFile(
            self._path, self._size, self._filename,
            content_type.decode("latin-1").strip() if content_type else None)
        self._path = None

    # ---- helpers

    def _refuse(self, reason: str) -> None:
        self.form.error = f"malformed multipart body: {reason}"
        raise _Refused

    def _abandon(self) -> None:
        """Close and remove a file part cut short."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._path is not None:
            with contextlib.suppress(OSError):
                self._path.unlink()
            self._path = None


class _Refused(Exception):
    """Raised inside a callback to stop python-multipart; the form says why."""


def read_form(body: bytes, content_type: str, directory: Path, *, max_file_bytes: int) -> Form:
    """A whole body in memory, parsed as :class:`FormReader` would stream it."""
    reader = FormReader(content_type, directory, max_file_bytes=max_file_bytes)
    reader.feed(body)
    return reader.finish()
