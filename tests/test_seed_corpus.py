from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.sources.folder import read_folder, split_header
from tests.conftest import ROOT, SEEDS

SHARED_SEEDS = ROOT.parent / "shared" / "seeds"


def test_five_seed_files_with_headers():
    articles = list(read_folder("seed corpus", SEEDS))
    assert len(articles) == 5
    assert all(a.title and a.published and a.language == "en" for a in articles)
    baaghi = next(a for a in articles if a.outlet == "BaaghiTV")
    assert baaghi.published == datetime(2022, 1, 6, tzinfo=UTC)
    assert baaghi.title == "Bloody protests in Kazakhastan attract global attention"


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="../shared/seeds is not beside this checkout")
def test_seed_text_is_the_original_unchanged():
    for path in sorted(SHARED_SEEDS.iterdir()):
        _, body = split_header((SEEDS / path.name).read_text(encoding="utf-8"))
        assert body == path.read_text(encoding="utf-8"), path.name


def test_plain_files_without_header(tmp_path):
    (tmp_path / "a.txt").write_text("Advertisements\n\nA headline here\n\nBody text about Kazakhstan.\n")
    (tmp_path / "b.html").write_text("<html><head><title>T</title></head><body><p>Hello</p></body></html>")
    (tmp_path / "ignored.json").write_text("{}")
    articles = list(read_folder("drop", tmp_path))
    assert [a.guid for a in articles] == ["file:a.txt", "file:b.html"]
    assert articles[0].title == "A headline here" and not articles[0].is_html
    assert articles[1].is_html


def test_unclosed_header_is_skipped_not_fatal(tmp_path, caplog):
    (tmp_path / "bad.txt").write_text("---\ntitle: x\nbody without end\n")
    (tmp_path / "good.txt").write_text("Good title\nGood body.\n")
    assert [a.title for a in read_folder("drop", tmp_path)] == ["Good title"]
    assert "bad.txt" in caplog.text
