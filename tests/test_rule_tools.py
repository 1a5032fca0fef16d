"""The analyst's tools: `rules check`, `rules test`, per-file hot reload, `scan --jsonl`."""

from __future__ import annotations

import json
import shutil

import pytest

from monitor.cli import main
from monitor.config import load_settings
from monitor.pipeline import reload_rules
from monitor.sources.folder import read_folder
from tests.conftest import ROOT, SEEDS


@pytest.fixture
def rules_copy(project, tmp_path):
    """The project's config pointed at a copy of the shipped rules: (config, rules folder)."""
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    project.write_text(project.read_text().replace(f'path = "{ROOT / "rules"}"', f'path = "{folder}"'))
    return project, folder


def test_shipped_rules_pass_check_and_their_own_tests(project, capsys):
    assert main(["--config", str(project), "rules", "check"]) == 0
    assert main(["--config", str(project), "rules", "test"]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out and "FAILED" not in out


def test_check_fails_with_file_line_and_column(rules_copy, capsys):
    config, folder = rules_copy
    text = (folder / "csto.toml").read_text().replace("OR КСОР", "OR bogus:КСОР", 1)
    (folder / "csto.toml").write_text(text)
    assert main(["--config", str(config), "rules", "check"]) == 1
    error = capsys.readouterr().err
    line, column = next((n, l.index("bogus") + 1) for n, l in enumerate(text.splitlines(), start=1) if "bogus" in l)
    assert f"csto.toml:{line}:{column}: unknown field 'bogus'" in error
    assert main(["--config", str(config), "rules", "test"]) == 1


def test_rules_test_fails_on_a_wrong_example(rules_copy, capsys):
    config, folder = rules_copy
    with (folder / "sanctions.toml").open("a") as file:
        file.write('\n[[example]]\ntitle = "Football"\ntext = "A nice match."\nmatch = true\n')
    assert main(["--config", str(config), "rules", "test"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "sanctions.toml:" in out and "1 failed" in out


def test_hot_reload_is_per_file(rules_copy, caplog):
    config, folder = rules_copy
    settings = load_settings(config)
    first = reload_rules(settings, None)
    # one file broken, one changed, one added, in the same cycle
    (folder / "csto.toml").write_text('id = "csto"\nquery = "CSTO AND ("\n')
    kazakhstan = (folder / "kazakhstan.toml").read_text().replace("threshold = 3.0", "threshold = 4.0")
    (folder / "kazakhstan.toml").write_text(kazakhstan)
    (folder / "extra.toml").write_text('id = "extra"\nquery = "uranium"\n')
    second = reload_rules(settings, first)
    assert second.ruleset.get("csto") == first.ruleset.get("csto")  # its previous good version
    assert second.ruleset.get("kazakhstan").threshold == 4.0 and second.ruleset.get("extra") is not None
    assert "csto.toml:2:" in caplog.text and "previous version stays in force" in caplog.text
    # a removed file is gone; a fixed one takes effect
    (folder / "extra.toml").unlink()
    (folder / "csto.toml").write_text('id = "csto"\nquery = "CSTO"\n')
    third = reload_rules(settings, second)
    assert third.ruleset.get("extra") is None and third.ruleset.get("csto").query_text == "CSTO"


def test_scan_jsonl_backtests_the_seeds(project, tmp_path, capsys):
    archive = tmp_path / "archive.jsonl"
    lines = []
    raws = list(read_folder("seed", SEEDS))
    for raw in raws:
        lines.append(json.dumps({"id": raw.guid, "title": raw.title, "text": raw.body, "url": raw.url,
                                 "published": raw.published.isoformat() if raw.published else None, "x": 1}))
    lines.insert(2, "{not json")
    copy = {"id": "copy", "title": raws[0].title, "text": raws[0].body, "source": "elsewhere",
            "published": "2030-01-01T00:00:00Z"}
    lines.append(json.dumps(copy))
    lines.append(json.dumps({"id": "no-text", "title": "x"}))
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["--config", str(project), "scan", "--jsonl", str(archive)]) == 0
    captured = capsys.readouterr()
    results = {r["id"]: r for r in map(json.loads, captured.out.splitlines())}
    assert f"{archive}:3: skipped" in captured.err and f"{archive}:8: skipped" in captured.err
    assert len(results) == 6
    for raw in raws:
        result = results[raw.guid]
        assert {m["rule"] for m in result["matches"]} == {"kazakhstan", "csto"}
        assert result["story"] is not None and result["duplicate_of"] is None
    found = {e["found"] for r in results.values() for m in r["matches"] for e in m["evidence"]}
    assert {"Kazakhastan", "Kassym-Shomart Tokayev", "Kassym-Jopart Tokayev", "CTSC"} <= found
    assert results["copy"]["duplicate_of"] == raws[0].guid
