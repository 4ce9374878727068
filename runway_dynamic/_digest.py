"""The digest that keys and checks the derived index: BLAKE2b-256, as hex.

Why not sha256: ``hashlib`` loads OpenSSL when it is imported (~2.5 ms here), which every
command that reads the spec would pay just to find its cached index. CPython's own BLAKE2
module loads in ~0.2 ms and hashes the spec and the index in well under a millisecond;
the digest is as strong. The spec's sha256 (what ``runway spec show`` and the history
record) is computed once, when the index is derived, and kept in it.
"""

from __future__ import annotations

try:
    from _blake2 import blake2b  # CPython's built-in module; hashlib would load OpenSSL
except ImportError:  # another interpreter: hashlib's
    from hashlib import blake2b


def content_digest(data: bytes) -> str:
    """The hex BLAKE2b-256 digest of ``data``.

    >>> content_digest(b"")[:16]
    '0e5751c026e543b2'
    """
    return blake2b(data, digest_size=32).hexdigest()
