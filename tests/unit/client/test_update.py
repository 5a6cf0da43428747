"""update: the credentials-file edit, atomic locked writes, and the refresh loop."""

from __future__ import annotations

import configparser
import datetime as dt
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.client import (
    ClientError,
    CreateSessionRefusedError,
    SessionCredentials,
    run_update,
    update_credentials_text,
    write_credentials_profile,
)
from elsewhere.clock import FixedClock

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _creds(n: int, expires: dt.datetime = T0 + dt.timedelta(hours=1)) -> SessionCredentials:
    return SessionCredentials(
        access_key_id=f"ASIA{n:012d}",
        secret_access_key=f"secret{n}",
        session_token=f"token{n}",
        expiration=expires,
        expiration_text=expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _parse(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "",
            "[ra]\naws_access_key_id = ASIA000000000001\naws_secret_access_key = secret1\n"
            "aws_session_token = token1\n",
            id="ok/empty-file",
        ),
        pytest.param(
            "[default]\naws_access_key_id = AKIA\n",
            "[default]\naws_access_key_id = AKIA\n\n[ra]\naws_access_key_id = ASIA000000000001\n"
            "aws_secret_access_key = secret1\naws_session_token = token1\n",
            id="ok/section-appended",
        ),
        pytest.param(
            "[ra]\nregion = eu-west-1\naws_access_key_id = OLD\naws_session_token = OLD\n\n"
            "[other]\naws_access_key_id = KEEP\n",
            "[ra]\nregion = eu-west-1\naws_access_key_id = ASIA000000000001\n"
            "aws_session_token = token1\naws_secret_access_key = secret1\n\n"
            "[other]\naws_access_key_id = KEEP\n",
            id="ok/replace-and-fill-in-place",
        ),
    ],
)
def test_update_credentials_text(before: str, after: str) -> None:
    """Only the profile's three keys change; missing ones are added inside its section."""
    assert update_credentials_text(before, "ra", _creds(1)) == after


profile_names = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)


@settings(max_examples=25, deadline=None)
@given(
    others=st.dictionaries(profile_names, st.from_regex(r"[A-Z0-9]{4,10}", fullmatch=True)),
    target=profile_names,
)
def test_update_keeps_other_profiles(others: dict[str, str], target: str) -> None:
    """Property: the target gets the new values, every other profile keeps its own."""
    text = "".join(f"[{name}]\naws_access_key_id = {key}\n\n" for name, key in others.items())
    parsed = _parse(update_credentials_text(text, target, _creds(7)))
    assert parsed[target]["aws_session_token"] == "token7"
    assert parsed[target]["aws_access_key_id"] == "ASIA000000000007"
    for name, key in others.items():
        if name != target:
            assert parsed[name]["aws_access_key_id"] == key


def test_write_is_atomic_under_concurrency(tmp_path: Path) -> None:
    """Concurrent writers never leave a torn file: a reader always sees one whole credential."""
    path = tmp_path / ".aws" / "credentials"
    write_credentials_profile(path, "ra", _creds(0))
    stop = threading.Event()
    torn: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            section = _parse(path.read_text())["ra"]
            n = section["aws_session_token"].removeprefix("token")
            if section["aws_access_key_id"] != f"ASIA{int(n):012d}":
                torn.append(path.read_text())

    def writer(base: int) -> None:
        for i in range(15):
            write_credentials_profile(path, "ra", _creds(base + i))

    threads = [threading.Thread(target=writer, args=(k * 100,)) for k in range(4)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    watcher.join()
    assert torn == []
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["credentials", "credentials.lock"]


class _Script:
    """A fetch function that plays a script of credentials and failures, and a fake sleep."""

    def __init__(self, clock: FixedClock, script: list[SessionCredentials | ClientError]) -> None:
        self.clock = clock
        self.script = script
        self.sleeps: list[float] = []

    def fetch(self) -> SessionCredentials:
        item = self.script.pop(0)
        if isinstance(item, ClientError):
            raise item
        return item

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(dt.timedelta(seconds=seconds))


def test_update_loop_refreshes_five_minutes_before_expiry(tmp_path: Path) -> None:
    """After each write the loop sleeps until expiry - 5 min, then writes the new credentials."""
    clock = FixedClock(T0)
    script = _Script(clock, [_creds(1), _creds(2, T0 + dt.timedelta(hours=2))])
    path = tmp_path / "credentials"
    run_update(script.fetch, path=path, profile="p", clock=clock, sleep=script.sleep, max_rounds=1)
    assert script.sleeps == [55 * 60]
    assert _parse(path.read_text())["p"]["aws_session_token"] == "token2"


def test_update_loop_retries_while_credentials_are_valid(tmp_path: Path) -> None:
    """A failed refresh is retried after 30 s; once the written ones expired, it raises."""
    clock = FixedClock(T0)
    refused = CreateSessionRefusedError("CreateSession failed: HTTP 403")
    script = _Script(clock, [_creds(1, T0 + dt.timedelta(minutes=6)), refused, _creds(2), refused])
    path = tmp_path / "credentials"
    run_update(script.fetch, path=path, profile="p", clock=clock, sleep=script.sleep, max_rounds=2)
    assert script.sleeps == [60, 30, 0]
    assert _parse(path.read_text())["p"]["aws_session_token"] == "token2"
    clock.set(T0 + dt.timedelta(hours=2))
    script.script = [_creds(3, T0 + dt.timedelta(hours=2)), refused]
    with pytest.raises(CreateSessionRefusedError):
        run_update(script.fetch, path=path, clock=clock, sleep=script.sleep, max_rounds=1)


def test_once_writes_and_returns(tmp_path: Path) -> None:
    """--once: one fetch, one write, no sleep."""
    clock = FixedClock(T0)
    script = _Script(clock, [_creds(1)])
    run_update(script.fetch, path=tmp_path / "c", once=True, clock=clock, sleep=script.sleep)
    assert script.sleeps == []
