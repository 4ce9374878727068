"""The history store on real SQLite files: order, filters, search, cap, modes, damage."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from runway_dynamic import HistoryError
from runway_dynamic.history import ANSWER_LOST, SENDING, Filters, HistoryStore
from runway_dynamic.history.store import STALE_SENDING_SECONDS, fts_query


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    with HistoryStore(tmp_path / "history.sqlite3") as made:
        yield made


def test_entries_come_newest_first_and_filters_keep_what_they_name(store: HistoryStore) -> None:
    old = store.add(endpoint="text_to_image", model="gen4_image", prompt="a kite",
                    created=time.time() - 3 * 86400)
    video = store.add(endpoint="text_to_video", model="gen4.5", prompt="a fox", sandbox=True)
    image = store.add(endpoint="text_to_image", model="gen4_image", prompt="a cat")
    store.update(image, task_id="t-1", status="SUCCEEDED")

    assert [e.id for e in store.entries()] == [image, video, old]
    assert [e.id for e in store.entries(Filters(model="gen4_image"))] == [image, old]
    assert [e.id for e in store.entries(Filters(endpoint="text_to_video"))] == [video]
    assert [e.id for e in store.entries(Filters(status="succeeded"))] == [image]
    assert [e.id for e in store.entries(Filters(sandbox=True))] == [video]
    assert [e.id for e in store.entries(Filters(sandbox=False))] == [image, old]
    assert [e.id for e in store.entries(Filters(since=time.time() - 86400))] == [image, video]
    assert [e.id for e in store.entries(Filters(before=time.time() - 86400))] == [old]
    assert [e.id for e in store.entries(Filters(limit=1))] == [image]


def test_a_missing_file_reads_as_empty_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none" / "history.sqlite3"
    with HistoryStore(path) as empty:
        assert empty.entries() == [] and empty.get(1) is None and empty.uncertain() == []
    assert not path.exists()


def test_search_folds_case_and_accents_and_matches_word_starts(store: HistoryStore) -> None:
    cafe = store.add(endpoint="text_to_image", prompt="Un café au phare, à l'aube")
    cyrillic = store.add(endpoint="text_to_image", prompt="Маяк на закате")
    japanese = store.add(endpoint="text_to_image", prompt="灯台の写真 lighthouse")
    assert [e.id for e in store.search("CAFE")] == [cafe]
    assert [e.id for e in store.search("phare aube")] == [cafe]
    assert [e.id for e in store.search("маяк")] == [cyrillic]
    assert [e.id for e in store.search("灯台")] == [japanese]
    assert [e.id for e in store.search("lightho")] == [japanese]
    assert store.search("phare fox") == []
    assert store.search('" OR * NEAR(') == []  # operators are literal text, not syntax


WORD = st.text(st.characters(categories=("Lu", "Ll", "Lo")), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(WORD, min_size=1, max_size=6))
@example(words=["\u19b0"])  # a letter newer than SQLite's tokenizer tables: found as text
def test_search_finds_every_word_of_a_stored_prompt_in_any_script(
        store: HistoryStore, words: list[str]) -> None:
    """Property: whatever the script, each word of a stored prompt finds that prompt."""
    entry = store.add(endpoint="text_to_image", prompt=" ".join(words))
    for word in words:
        assert entry in [e.id for e in store.search(word)], (word, fts_query(word))


def test_the_cap_prunes_the_oldest_entries_first_and_keeps_the_newest(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3", max_bytes=20_000) as capped:
        ids = [capped.add(endpoint="text_to_image", prompt=f"prompt {i}",
                          body={"promptText": "x" * 500}) for i in range(100)]
        kept = [e.id for e in capped.entries()]
        assert capped.size() <= 20_000
        assert ids[-1] in kept and ids[0] not in kept
        assert kept == sorted(kept, reverse=True) and kept == ids[-len(kept):][::-1]
        assert 10 < len(kept) < 100
        # the FTS index follows: pruned prompts are not found any more
        assert capped.search("prompt") and all(e.id in kept for e in capped.search("prompt"))


def test_the_file_and_its_wal_files_are_private(tmp_path: Path) -> None:
    os.umask(0o022)
    path = tmp_path / "data" / "history.sqlite3"
    with HistoryStore(path) as made:
        made.add(endpoint="text_to_image", prompt="a kite")
        names = sorted(p.name for p in path.parent.iterdir())
        assert names == ["history.sqlite3", "history.sqlite3-shm", "history.sqlite3-wal"]
        for found in path.parent.iterdir():
            assert found.stat().st_mode & 0o777 == 0o600, found


def test_a_loose_mode_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as made:
        made.add(endpoint="e")
    path.chmod(0o644)
    with HistoryStore(path) as again:
        assert again.count() == 1
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_foreign_or_damaged_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE t (x)")
    before = foreign.read_bytes()
    with pytest.raises(HistoryError) as caught:
        HistoryStore(foreign).entries()
    assert caught.value.reason == "not_history" and foreign.read_bytes() == before

    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"not a database at all" * 100)
    with pytest.raises(HistoryError) as caught:
        HistoryStore(damaged).add(endpoint="e")
    assert caught.value.reason == "damaged"
    assert damaged.read_bytes() == b"not a database at all" * 100


def test_clear_removes_everything_or_what_is_older(store: HistoryStore) -> None:
    store.add(endpoint="e", created=time.time() - 10 * 86400)
    recent = store.add(endpoint="e")
    assert store.clear(before=time.time() - 86400) == 1
    assert [e.id for e in store.entries()] == [recent]
    assert store.clear() == 1 and store.count() == 0 and store.size() == 0


def test_uncertain_lists_lost_answers_and_stale_sends(store: HistoryStore) -> None:
    lost = store.add(endpoint="text_to_video", model="gen4.5", prompt="a fox")
    store.update(lost, status=ANSWER_LOST, failure="HTTP 502")
    store.add(endpoint="text_to_video", status=SENDING)  # a command still sending: not yet
    stale = store.add(endpoint="text_to_video", status=SENDING)
    with store._write() as db:
        db.execute("UPDATE entries SET updated = ? WHERE id = ?",
                   (time.time() - STALE_SENDING_SECONDS - 1, stale))
    assert [e.id for e in store.uncertain()] == [lost, stale]


def test_files_are_added_by_task_or_by_output_url(store: HistoryStore) -> None:
    entry = store.add(endpoint="text_to_image")
    store.update(entry, task_id="t-9", status="SUCCEEDED",
                 outputs=["https://cdn.example/a.png?sig=1", "https://cdn.example/b.png"])
    assert store.add_files(["/out/a.png"], task_id="t-9") == 1
    assert store.add_files(["/out/b.png"], output="https://cdn.example/b.png") == 1
    assert store.add_files(["/out/a.png"], task_id="t-9") == 1  # not twice
    found = store.get(entry)
    assert found is not None and found.files == ("/out/a.png", "/out/b.png")


_WRITER = """
import sys
from runway_dynamic.history import HistoryStore
store = HistoryStore(sys.argv[1])
for i in range(int(sys.argv[3])):
    entry = store.add(endpoint="text_to_image", prompt=f"{sys.argv[2]} {i}")
    store.update(entry, task_id=f"{sys.argv[2]}-{i}", status="SUBMITTED")
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, "150"])
               for name in ("left", "right")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    with HistoryStore(path) as store:
        found = {e.task_id for e in store.entries()}
    assert found == {f"{n}-{i}" for n in ("left", "right") for i in range(150)}


def test_a_new_history_opened_while_another_process_holds_it_waits_instead_of_failing(
        tmp_path: Path) -> None:
    """Two commands making a new history at once: SQLite refuses the switch to WAL at once
    (no busy wait) while the other holds the file; the store waits for it instead."""
    import sqlite3
    import threading

    path = tmp_path / "history.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # the other process, between creating and writing
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        with HistoryStore(path) as store:
            entry = store.add(endpoint="text_to_image", prompt="waited")
            found = store.get(entry)
    finally:
        release.join()
        holder.close()
    assert found is not None and found.prompt == "waited"


@pytest.mark.parametrize(("status", "settled"), [
    ("SUCCEEDED", True), ("FAILED", True), ("CANCELLED", True),
    ("COMPLETED", True), ("ended", True),            # end words of other (newer) specs
    ("PENDING", False), ("RUNNING", False), ("THROTTLED", False), ("queued", False),
    (SENDING, False), ("SUBMITTED", False), (ANSWER_LOST, True),
])
def test_an_entry_is_settled_by_the_same_rule_the_poller_stops_on(
        store: HistoryStore, status: str, settled: bool) -> None:
    entry = store.add(endpoint="text_to_image", prompt="a kite")
    store.update(entry, status=status)
    found = store.get(entry)
    assert found is not None and found.settled is settled
