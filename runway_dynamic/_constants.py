"""Named numbers and names used across the package, kept in one place."""

from __future__ import annotations

APP_DIR_NAME = "runway-dynamic"

# Environment variables.
ENV_SPEC = "RUNWAY_SPEC"
ENV_API_KEY = "RUNWAY_API_KEY"
ENV_API_KEY_LEGACY = "RUNWAYML_API_SECRET"
ENV_BASE_URL = "RUNWAY_BASE_URL"
#: The official SDK's name for the base URL (read by runway_dynamic.RunwayML first).
ENV_BASE_URL_OFFICIAL = "RUNWAYML_BASE_URL"
ENV_CACHE_DIR = "RUNWAY_CACHE_DIR"
ENV_CONFIG_DIR = "RUNWAY_CONFIG_DIR"
ENV_DATA_DIR = "RUNWAY_DATA_DIR"
#: The profile (a named set of settings and key, for several keys or organizations).
ENV_PROFILE = "RUNWAY_PROFILE"
#: The largest spec read, downloaded or expanded from YAML aliases (see _limits.py).
ENV_SPEC_MAX_BYTES = "RUNWAY_SPEC_MAX_BYTES"

# Where `runway spec pull` fetches the official document by default.
DEFAULT_SPEC_URL = "https://raw.githubusercontent.com/runwayml/openapi/next/openapi.json"

# The property that discriminates generation request bodies by model.
MODEL_PROPERTY = "model"
# The property that carries an aspect ratio in generation bodies.
RATIO_PROPERTY = "ratio"
# The endpoint that reads a task (what a task-creating POST's id is looked up at).
TASK_ENDPOINT = "tasks/{id}"

# The endpoint that issues upload slots (POST /v1/uploads).
UPLOADS_ENDPOINT = "uploads"
# The endpoint where a task is followed (GET) and cancelled (DELETE).
TASK_ENDPOINT = "tasks/{id}"
# Runway's published cap on one uploaded file (200 MB, binary units as its data-URI limits);
# used only while the spec declares none (see media_limits.py).
UPLOAD_MAX_BYTES = 200 * 1024 * 1024

# Retry policy (see _http.py): attempts after the first, backoff bounds, jitter range.
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
JITTER_MIN = 0.75
JITTER_MAX = 1.0

# Resubmitting a task that failed with an INTERNAL.* code: the pause before the new task.
RESUBMIT_BACKOFF = 5.0

# Task polling.
DEFAULT_POLL_INTERVAL = 5.0
DEFAULT_TIMEOUT = 60.0
DEFAULT_WAIT_TIMEOUT = 30 * 60.0

# The async client's connection pool unless told otherwise: httpx's own defaults (its
# DEFAULT_LIMITS: 100 connections, 20 kept alive). The requests it lets on the wire at once
# default to the kept-alive count (see client._wire_bound).
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_KEEPALIVE_CONNECTIONS = 20

# The organization limits the sandbox plays by default (per model, as Runway counts them).
SANDBOX_CONCURRENCY_LIMIT = 100
SANDBOX_DAILY_LIMIT = 10_000
SANDBOX_CREDITS = 1_000_000.0

# Exit codes of the CLI (also carried by exception classes).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_TASK_FAILED = 3
EXIT_TIMEOUT = 4
#: A batch stopped at a limit (daily generations, credits): run it again later (EX_TEMPFAIL).
EXIT_PAUSED = 75
EXIT_INTERRUPTED = 130
#: Stopped by SIGTERM (128 + 15, as shells report it).
EXIT_TERMINATED = 143
