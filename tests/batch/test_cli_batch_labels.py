"""A jobs file's problems name each field's flag as the command builder gives it (issue 13
§3): a body field named like one of the tool's own options (``version``) is
``--body-version`` in ``runway batch``'s messages, as in ``runway call``'s help, and that
flag is accepted as a column name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from spec_corpus import colliding_spec


def _runway(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runway_dynamic", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_batch_names_a_colliding_field_by_the_flag_call_gives_it(tmp_path: Path) -> None:
    spec = tmp_path / "collide.json"
    spec.write_text(json.dumps(colliding_spec()), encoding="utf-8")
    helped = _runway("--spec", str(spec), "call", "make", "--help", cwd=tmp_path).stdout
    assert "--body-version" in helped

    (tmp_path / "bad.csv").write_text(
        "endpoint,model,promptText,--body-version\nmake,m1,x,seven\n", encoding="utf-8")
    bad = _runway("--sandbox", "--spec", str(spec), "batch", "run", "bad.csv", "--dry-run",
                  cwd=tmp_path)
    assert bad.returncode == 2
    assert "version (--body-version) takes an integer here, got 'seven'" in bad.stderr
    assert "(--version)" not in bad.stderr

    (tmp_path / "ok.csv").write_text(
        "endpoint,model,promptText,--body-version\nmake,m1,x,7\n", encoding="utf-8")
    ok = _runway("--sandbox", "--spec", str(spec), "batch", "run", "ok.csv", "--dry-run",
                 "--json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["jobs"] == 1
