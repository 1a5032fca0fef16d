from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor import pipeline
from monitor.config import load_settings
from monitor.storage.queries import Store
from monitor.stories import clusters


@pytest.fixture
def world(project):
    settings = load_settings(project)
    store = Store.open(settings.database_url)
    rules = pipeline.reload_rules(settings, None)
    yield settings, store, rules
    store.close()


def add_file(settings, name, text):
    (settings.base_dir / "seed_corpus" / name).write_text(text, encoding="utf-8")


def test_five_seeds_are_one_story(world):
    settings, store, rules = world
    pipeline.run_cycle(settings, store, rules)
    stories = store.stories()
    assert len(stories) == 1
    story, articles, matches = stories[0]
    assert len(articles) == 5 and story.article_count == 5
    assert {m.rule_id for m in matches} == {"kazakhstan", "csto"}
    joined = [a for a in articles if a.story_reason.get("shared_entities")]
    assert len(joined) == 4 and all({"kazakhstan", "tokayev", "csto"} <= set(a.story_reason["shared_entities"]) for a in joined)
    assert story.event_at == datetime(2022, 1, 6, tzinfo=UTC)


def test_second_pass_adds_nothing(world):
    settings, store, rules = world
    pipeline.run_cycle(settings, store, rules)
    before = store.counts()
    report = pipeline.run_cycle(settings, store, rules, every_source=True)
    assert report.articles == {"new": 0, "revised": 0, "unchanged": 5, "copy": 0}
    assert store.counts() == before


def test_unrelated_article_starts_its_own_story(world):
    settings, store, rules = world
    add_file(
        settings,
        "zz_airbus.txt",
        "---\ntitle: Qatar Airways seeks over $600m in Airbus A350 dispute\npublished: 2022-01-06\n---\n"
        "Qatar Airways is seeking more than $600 million in compensation from Airbus over surface degradation "
        "on its A350 jets, according to a court filing in London. The airline grounded 21 of the aircraft.\n",
    )
    pipeline.run_cycle(settings, store, rules)
    sizes = sorted(len(articles) for _, articles, _ in store.stories())
    assert sizes == [1, 5]


def test_same_text_from_another_source_is_a_copy_in_the_same_story(world, tmp_path):
    settings, store, rules = world
    pipeline.run_cycle(settings, store, rules)
    original = store.stories()[0][1][1]
    other = store.ensure_source("syndication", "directory", str(tmp_path))
    from monitor.types import CleanArticle

    copy = CleanArticle(
        source="syndication", guid="x1", title=original.title, text=original.text, lead=original.lead,
        url="https://other.example.org/copy?utm_source=rss", canonical_url="https://other.example.org/copy",
        outlet="Other Outlet", author=None, language="en", published=original.published_at,
        content_hash=original.content_hash,
    )
    article_id, status = store.store_article(other.id, copy)
    assert status == "copy"
    pipeline.match(store, rules)
    pipeline.cluster(store)
    stories = store.stories()
    assert len(stories) == 1
    stored = store.article(article_id)
    assert stored.duplicate_of == original.id and stored.story_id == stories[0][0].id


def test_revised_text_is_a_revision_not_a_new_article(world):
    settings, store, rules = world
    pipeline.run_cycle(settings, store, rules)
    path = settings.base_dir / "seed_corpus" / "001_0849827d0f247804.txt"
    path.write_text(path.read_text() + "\nUpdate: the death toll rose to 164, officials said on Sunday evening.\n")
    report = pipeline.run_cycle(settings, store, rules, every_source=True)
    assert report.articles["revised"] == 1 and store.counts()["articles"] == 5


def test_time_decay_keeps_distant_events_apart():
    text = "Kazakhstan Tokayev CSTO troops Almaty protests"
    day = datetime(2022, 1, 6, tzinfo=UTC)
    story = clusters.story_profile([clusters.article_profile("Unrest", text, {"kazakhstan", "tokayev"}, day)])
    near = clusters.article_profile("Unrest", text, {"kazakhstan", "tokayev"}, day + timedelta(days=1))
    far = clusters.article_profile("Unrest", text, {"kazakhstan", "tokayev"}, day + timedelta(days=30))
    assert clusters.similarity(near, story)[0] > clusters.JOIN_THRESHOLD > clusters.similarity(far, story)[0]
