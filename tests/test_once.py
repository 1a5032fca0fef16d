"""`monitor run --once` as a new user runs it: a fresh folder, the defaults, the outbox."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys

import pytest


def monitor(config, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


@pytest.fixture
def ran_once(project):
    monitor(project, "run", "--once")
    return project


def test_once_leaves_one_digest_with_one_story_of_five_sources(ran_once):
    outbox = ran_once.parent / "var" / "outbox"
    files = list(outbox.glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"].addresses[0].addr_spec == "analyst@example.org"
    text = " ".join(message.get_body(("plain",)).get_content().split())
    html = message.get_body(("html",)).get_content()
    assert "KAZAKHSTAN (1)" in text and "CSTO (1)" in text and "SANCTIONS (0)" in text
    assert text.count("5 sources") == 1  # told once, under its first rule; the CSTO section points to it
    for outlet in ("POLITICO", "BaaghiTV"):
        assert outlet in html and outlet in text


def test_stories_json(ran_once):
    stories = json.loads(monitor(ran_once, "stories", "--json"))
    assert len(stories) == 1
    story = stories[0]
    assert story["rules"] == ["csto", "kazakhstan"]
    assert len(story["articles"]) == 5
    assert {"id", "url", "source", "title", "published"} <= set(story["articles"][0])
    assert {a["source"] for a in story["articles"]} == {"seed corpus"}


def test_second_once_adds_nothing(ran_once):
    before = monitor(ran_once, "status")
    monitor(ran_once, "run", "--once")
    assert len(list((ran_once.parent / "var" / "outbox").glob("*.eml"))) == 1
    after = monitor(ran_once, "status")
    assert before.split("\n", 1)[0] == after.split("\n", 1)[0]  # the counts line
    assert "articles 5" in after and "stories 1" in after and "digests 1" in after


def test_explain_commands(ran_once):
    explained = monitor(ran_once, "rules", "explain", "2")
    assert "rule kazakhstan: score" in explained and "fuzzy(1 edit of Kazakhstan)" in explained
    story = monitor(ran_once, "stories", "explain", "1")
    assert "new story: no active story reached the threshold" in story
    assert "shared entities: almaty, csto, kazakhstan" in story and "shared names:" in story and "Tokayev" in story
