"""Test isolation: no test touches the user's database, keyring, config or terminal width."""

from __future__ import annotations

import time
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "crm.db"
    monkeypatch.setenv("CRMCLI_DB", str(db))
    monkeypatch.setenv("CRMCLI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("CRMCLI_REGION", "CN")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    for name in ("CRMCLI_KEY_FILE", "CRMCLI_BUSY_TIMEOUT", "CRMCLI_DEBUG", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    return db
