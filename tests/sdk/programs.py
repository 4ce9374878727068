"""Programs written as the official SDK's documentation writes them (``runwayml`` 5.x).

tests/sdk/test_compat.py runs each twice against a sandbox: as written, and with only its
import changed to ``runway_dynamic``. Each prints what a user would check (statuses, output
counts, error classes and codes); ids and the sandbox's address are normalised away.
"""

from __future__ import annotations

PROGRAMS: dict[str, str] = {}

PROGRAMS["create_wait_read_output"] = '''
from runwayml import RunwayML

client = RunwayML()
task = client.text_to_image.create(
    model="gen4_image",
    prompt_text="A lighthouse on a cliff at dawn",
    ratio="1920:1080",
)
result = task.wait_for_task_output()
print(result.status, len(result.output), result.output[0].startswith("http"))
print(type(result.created_at).__name__, result.id == task.id)
'''

PROGRAMS["poll_with_tasks_retrieve"] = '''
import time

from runwayml import RunwayML

client = RunwayML()
task = client.image_to_video.create(
    model="gen4_turbo",
    prompt_image="https://example.com/still.png",
    prompt_text="Waves roll onto the shore",
    ratio="1280:720",
    duration=5,
)
task_id = task.id
while True:
    task = client.tasks.retrieve(task_id)
    if task.status in ("SUCCEEDED", "FAILED", "CANCELLED"):
        break
    time.sleep(0.05)
print(task.id == task_id, task.status, len(task.output))
'''

PROGRAMS["upload_then_generate"] = '''
from pathlib import Path

from runwayml import RunwayML

client = RunwayML()
upload = client.uploads.create_ephemeral(file=Path("still.png"))
print(upload.uri.startswith("runway://"))
task = client.image_to_video.create(
    model="gen4_turbo",
    prompt_image=upload.uri,
    ratio="1280:720",
).wait_for_task_output()
print(task.status, len(task.output))
'''

PROGRAMS["list_avatars_across_pages"] = '''
from runwayml import RunwayML

client = RunwayML()
for n in range(3):
    avatar = client.avatars.create(
        name=f"Guide {n}",
        reference_image="https://example.com/face.png",
        personality="A friendly museum guide",
        voice={"type": "runway-live-preset", "preset_id": "clara"},
    )
print(avatar.name, avatar.status)
names = sorted(a.name for a in client.avatars.list(limit=2))
print(names)
page = client.avatars.list(limit=2)
print(len(page.data), page.has_next_page())
'''

PROGRAMS["handle_task_failed_error"] = '''
from runwayml import RunwayML, TaskFailedError

client = RunwayML()
task = client.text_to_image.create(
    model="gen4_image",
    prompt_text="something the moderation refuses",
    ratio="1920:1080",
    extra_headers={"X-Sandbox-Fault": "task-fail=SAFETY.INPUT.TEXT"},
)
try:
    task.wait_for_task_output()
except TaskFailedError as e:
    print("failed:", e.task_details.status, e.task_details.failure_code)
'''

PROGRAMS["handle_rate_limit_error"] = '''
import runwayml

client = runwayml.RunwayML(max_retries=0)
try:
    client.text_to_video.create(
        model="gen4.5",
        prompt_text="A fox in the snow",
        ratio="1280:720",
        duration=5,
        extra_headers={"X-Sandbox-Fault": "status=429; retry-after=1"},
    )
except runwayml.RateLimitError as e:
    print("rate limited:", e.status_code, type(e).__mro__[1].__name__)
'''

PROGRAMS["bad_request_and_not_found"] = '''
import uuid

import runwayml

client = runwayml.RunwayML()
try:
    client.text_to_image.create(model="gen4_image", prompt_text="a kite", ratio="999:1")
except runwayml.BadRequestError as e:
    print("bad request:", e.status_code, isinstance(e, runwayml.APIStatusError))
try:
    client.tasks.retrieve(str(uuid.uuid4()))
except runwayml.NotFoundError as e:
    print("not found:", e.status_code)
except runwayml.APIError as e:
    print("other:", type(e).__name__)
'''

PROGRAMS["raw_response_organization_delete"] = '''
from runwayml import RunwayML

client = RunwayML()
org = client.organization.retrieve()
print(isinstance(org.credit_balance, (int, float)), sorted(org.to_dict()))
task = client.sound_effect.create(model="eleven_text_to_sound_v2", prompt_text="rain on a tin roof")
raw = client.tasks.with_raw_response.retrieve(task.id)
print(raw.status_code, raw.headers["content-type"].split(";")[0], raw.parse().id == task.id)
print(client.tasks.delete(task.id))
'''

PROGRAMS["async_create_wait_and_list"] = '''
import asyncio

from runwayml import AsyncRunwayML


async def main() -> None:
    client = AsyncRunwayML()
    task = await client.text_to_speech.create(
        model="eleven_multilingual_v2",
        prompt_text="Hello from the sandbox",
        voice={"type": "runway-preset", "preset_id": "Maya"},
    )
    done = await task.wait_for_task_output()
    print(done.status, len(done.output))
    first = await client.voices.list(limit=5)
    print(type(first.data).__name__)
    count = 0
    async for voice in client.voices.list(limit=2):
        count += 1
    print(count >= len(first.data))
    await client.close()


asyncio.run(main())
'''

PROGRAMS["retrieve_then_wait"] = '''
from runwayml import RunwayML

client = RunwayML()
created = client.text_to_image.create(
    model="gen4_image",
    prompt_text="A paper boat on a puddle",
    ratio="1920:1080",
)
task = client.tasks.retrieve(created.id)
print(task.status in ("PENDING", "THROTTLED", "RUNNING", "SUCCEEDED"))
done = task.wait_for_task_output(timeout=60)
print(done.status, done.id == created.id, len(done.output))
'''

# WORKFLOW_ID names a workflow the sandbox holds (see test_compat.py).
PROGRAMS["workflow_run_and_failure"] = '''
import os

from runwayml import RunwayML, WorkflowInvocationFailedError

client = RunwayML()
workflow_id = os.environ["WORKFLOW_ID"]
run = client.workflows.run(workflow_id, node_outputs={})
done = client.workflow_invocations.retrieve(run.id).wait_for_task_output()
print(done.status, len(done.output))
failing = client.workflows.run(
    workflow_id,
    node_outputs={},
    extra_headers={"X-Sandbox-Fault": "task-fail=INTERNAL.BAD_OUTPUT.CODE01"},
)
try:
    client.workflow_invocations.retrieve(failing.id).wait_for_task_output()
except WorkflowInvocationFailedError as e:
    print("failed:", e.invocation_details.status, e.invocation_details.failure_code)
'''
