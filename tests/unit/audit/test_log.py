"""The audit log file: one line per record, reopened for rotation, loud when a write fails."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest

from elsewhere.audit import AuditLog, AuditWriteError, format_record


def _lines(path: Path) -> list[dict[str, object]]:
    """The records in ``path``."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_are_appended_one_per_line(tmp_path: Path) -> None:
    """Each record is one JSON line, appended after what the file held; the file is 0600."""
    path = tmp_path / "audit.jsonl"
    path.write_text('{"earlier":true}\n')
    path.chmod(0o600)
    log = AuditLog(str(path))
    log.record({"eventName": "A", "value": "line\nbreak"})
    log.record({"eventName": "B"})
    log.close()
    assert _lines(path) == [
        {"earlier": True},
        {"eventName": "A", "value": "line\nbreak"},
        {"eventName": "B"},
    ]
    assert log.records == 2


def test_new_file_is_private(tmp_path: Path) -> None:
    """A file the log creates is readable by its owner only."""
    path = tmp_path / "audit.jsonl"
    AuditLog(str(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("ok/ascii", "plain"),
        ("ok/non-ascii", "caf\u00e9 \u2028"),
        ("ok/lone-surrogate", "\ud800"),
        ("ok/control", "\x00\x1b[31m"),
    ],
)
def test_every_value_stays_on_one_ascii_line(value: str, shown: str) -> None:
    """No value can break a record into two lines or fail the encoding."""
    line = format_record({"v": shown})
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert line.isascii()
    assert json.loads(line) == {"v": shown}


def test_bytes_and_times_are_written_as_text() -> None:
    """Blobs are summarised by length; datetimes are ISO 8601."""
    import datetime as dt

    line = format_record(
        {"crlData": b"\x00" * 10, "at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}
    )
    assert json.loads(line) == {"crlData": "<10 bytes>", "at": "2026-01-02T03:04:05+00:00"}


def test_reopen_follows_a_rotation(tmp_path: Path) -> None:
    """After the file is moved away, reopen() starts a new file at the old path."""
    path = tmp_path / "audit.jsonl"
    log = AuditLog(str(path))
    log.record({"n": 1})
    rotated = tmp_path / "audit.jsonl.1"
    os.rename(path, rotated)
    log.record({"n": 2})  # still the open file: logrotate's rename does not lose it
    log.reopen()
    log.record({"n": 3})
    log.close()
    assert _lines(rotated) == [{"n": 1}, {"n": 2}]
    assert _lines(path) == [{"n": 3}]


def test_failed_write_is_loud_and_keeps_the_record(caplog: pytest.LogCaptureFixture) -> None:
    """A full disk raises AuditWriteError, counts it, and logs the whole record at ERROR."""
    log = AuditLog("/dev/full")
    with caplog.at_level(logging.ERROR, logger="elsewhere.audit"), pytest.raises(AuditWriteError):
        log.record({"eventName": "CreateSession", "requestID": "rid-1"})
    log.close()
    assert log.failures == 1
    assert log.records == 0
    (entry,) = caplog.records
    assert entry.levelno == logging.ERROR
    assert '"requestID":"rid-1"' in entry.getMessage()
    assert "/dev/full" in entry.getMessage()


def test_a_failed_reopen_is_retried_by_the_next_record(tmp_path: Path) -> None:
    """A reopen that cannot open the file leaves the next record to try again (and fail)."""
    folder = tmp_path / "logs"
    folder.mkdir()
    path = folder / "audit.jsonl"
    log = AuditLog(str(path))
    os.rename(folder, tmp_path / "gone")
    log.reopen()  # the folder is gone: logged, not raised
    with pytest.raises(AuditWriteError):
        log.record({"n": 1})
    folder.mkdir()
    log.record({"n": 2})
    log.close()
    assert _lines(path) == [{"n": 2}]
