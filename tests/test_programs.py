"""tests/programs.py: a missing program fails the test under CI and skips it elsewhere."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.programs import required_program

MISSING = "kserver-no-such-program"


def test_a_found_program_is_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSERVER_TEST_PROGRAM", sys.executable)
    assert required_program(MISSING, "hint", env="KSERVER_TEST_PROGRAM") == sys.executable
    assert Path(required_program("sh", "hint")).name == "sh"


def test_a_missing_program_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=f"{MISSING} is needed: install it"):
        required_program(MISSING, "install it")


def test_a_missing_program_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        required_program(MISSING, "install it")
