"""The official Python SDK's surface (``runwayml``), derived from the spec at run time.

Code written for the official SDK runs with one changed import::

    from runway_dynamic import RunwayML, TaskFailedError      # was: from runwayml import ...

    client = RunwayML()
    task = client.text_to_image.create(model="gen4_image", prompt_text="a kite",
                                       ratio="1920:1080")
    print(task.wait_for_task_output().output)

and gains what the official SDK lacks: pre-flight before anything is sent (one error
naming every problem by its Python argument), new models and endpoints with a new spec
and no release, local file paths for media, ``RunwayML(sandbox=True)``, and creates that
are never resent blindly. Namespaces: :mod:`._names`; arguments: :mod:`._arguments`;
results: :mod:`._results`; the clients: :mod:`._client`.
"""

from __future__ import annotations

from runway_dynamic.sdk._arguments import NOT_GIVEN
from runway_dynamic.sdk._client import AsyncRunwayML, Namespace, RunwayML
from runway_dynamic.sdk._names import OFFICIAL_NAMES, place_operations
from runway_dynamic.sdk._results import AsyncPage, AsyncPaginator, Page, RawResponse, Result

__all__ = [
    "NOT_GIVEN",
    "OFFICIAL_NAMES",
    "AsyncPage",
    "AsyncPaginator",
    "AsyncRunwayML",
    "Namespace",
    "Page",
    "RawResponse",
    "Result",
    "RunwayML",
    "place_operations",
]
