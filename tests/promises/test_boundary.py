"""The sandbox boundary's rules, one by one (the contract suite runs them end to end)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runway_dynamic import ConfigError, SandboxBoundaryError
from runway_dynamic.boundary import (
    PLACEHOLDER_KEY,
    Boundary,
    check_base_url,
    child_environment,
    is_loopback_host,
    is_loopback_url,
    trust_environment,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost",
                                  "LOCALHOST.", "app.localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["", None, "10.0.0.1", "api.dev.runwayml.com", "0.0.0.0",
                                  "localhost.example.com", "::", "127.0.0.1.nip.io"])
def test_other_hosts_are_not_loopback(host: str | None) -> None:
    assert not is_loopback_host(host)


def test_loopback_urls_and_proxies() -> None:
    assert is_loopback_url("http://127.0.0.1:8000/v1") and is_loopback_url("/tmp/spec.json")
    assert is_loopback_url("postgresql:///jobs") and is_loopback_url("postgresql://u@[::1]/j")
    assert not is_loopback_url("postgresql://runner@db.runway.example/jobs")
    assert not is_loopback_url("https://api.dev.runwayml.com")
    assert trust_environment("https://api.dev.runwayml.com")
    assert not trust_environment("http://[::1]:9000")


def test_sealed_boundary_refuses_the_outside_and_sends_the_placeholder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWAY_API_KEY", "rk_user_key_never_sent_0001")
    sealed = Boundary(sealed=True, sandbox_url="http://127.0.0.1:1")
    assert sealed.api_key("rk_explicit_key_0002") == PLACEHOLDER_KEY
    assert Boundary().api_key() == "rk_user_key_never_sent_0001"
    with pytest.raises(SandboxBoundaryError) as caught:
        sealed.check_outbound("https://shop.example/item", "webproducts fetch")
    assert caught.value.exit_code == 2 and "shop.example" in str(caught.value)
    sealed.check_outbound("http://127.0.0.1:9/page", "webproducts fetch")
    Boundary().check_outbound("https://shop.example/item", "webproducts fetch")
    assert not sealed.agent_allowed(named=False) and sealed.agent_allowed(named=True)
    assert Boundary().agent_allowed(named=False)


def test_child_environment_drops_every_key_variable() -> None:
    env = child_environment({"RUNWAY_API_KEY": "a", "RUNWAYML_API_SECRET": "b", "PATH": "/bin"})
    assert env == {"PATH": "/bin"}


@pytest.mark.parametrize("url", ["http://api.runway.example", "http://10.1.2.3:8080/v1"])
def test_cleartext_base_urls_are_refused_unless_allowed(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="cleartext"):
        check_base_url(url)
    check_base_url(url, allow_insecure=True)
    monkeypatch.setenv("RUNWAY_ALLOW_INSECURE_HTTP", "1")
    check_base_url(url)


def test_the_cli_refuses_a_cleartext_base_url_before_sending(tmp_path: Path) -> None:
    """A base URL from the environment that is plain http:// off loopback: exit 1, and the
    message says how to allow it; nothing is sent (the host does not even exist)."""
    env = {**os.environ, "RUNWAY_BASE_URL": "http://api.runway.example",
           "RUNWAY_API_KEY": "rk_cleartext_0003"}
    done = subprocess.run([sys.executable, "-m", "runway_dynamic", "organization", "get"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "cleartext" in done.stderr and "RUNWAY_ALLOW_INSECURE_HTTP" in done.stderr
    assert "rk_cleartext_0003" not in done.stdout + done.stderr


def test_a_spec_url_is_refused_under_sandbox(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runway_dynamic", "--sandbox", "--spec",
         "https://specs.runway.example/openapi.json", "models"],
        cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "under --sandbox" in done.stderr and "Traceback" not in done.stderr
