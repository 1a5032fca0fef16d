from __future__ import annotations

import subprocess
import sys

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError
from tests.conftest import ROOT


def test_shipped_config_loads_with_defaults():
    settings = load_settings(ROOT / "config.toml")
    assert settings.database_url == f"sqlite:///{ROOT / 'var' / 'monitor.sqlite3'}"
    assert settings.smtp.host == ""
    assert [r.name for r in settings.recipients] == ["analyst"]
    assert settings.outbox_dir == ROOT / "var" / "outbox"


def test_environment_overrides_one_key(project, monkeypatch):
    monkeypatch.setenv("MONITOR_SMTP__HOST", "mail.example.org")
    monkeypatch.setenv("MONITOR_SMTP__PORT", "2525")
    monkeypatch.setenv("MONITOR_DATABASE__URL", "sqlite:////tmp/x.sqlite3")
    settings = load_settings(project)
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == ("mail.example.org", 2525, "starttls")
    assert settings.database_url == "sqlite:////tmp/x.sqlite3"
    assert settings.recipients[0].timezone == "Asia/Almaty"  # untouched by the override


def test_password_never_in_repr(project, monkeypatch):
    monkeypatch.setenv("MONITOR_SMTP__PASSWORD", "hunter2-secret")
    settings = load_settings(project)
    assert settings.smtp.password.get_secret_value() == "hunter2-secret"
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('[smtp]\nprot = 25\n', "smtp.prot: unknown key"),
        ('[smtp]\nport = "many"\n', "smtp.port"),
        ('[smtp]\nsecurity = "ssl3"\n', "smtp.security"),
        ("[database\n", "invalid TOML"),
    ],
)
def test_wrong_values_name_key_and_file(project, extra, expected):
    project.write_text(project.read_text() + "\n" + extra)
    with pytest.raises(ConfigError) as error:
        load_settings(project)
    assert expected in str(error.value) and str(project) in str(error.value)


def test_bad_timezone_exits_2_with_one_message(project):
    text = project.read_text().replace('timezone = "Asia/Almaty"', 'timezone = "Asia/Atlantis"')
    project.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(project), "status"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "recipients.0.timezone" in result.stderr and "Asia/Atlantis" in result.stderr
    assert str(project) in result.stderr
    assert "Traceback" not in result.stderr
