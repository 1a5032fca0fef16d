from __future__ import annotations

import email
import email.policy

from datetime import UTC, datetime, timedelta

import pytest

from monitor import pipeline
from monitor.config import load_settings
from monitor.storage.queries import Store
from monitor.stories import clusters, profiles
from tests.test_copies import RUSSIAN


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
    text = "Kazakhstan Tokayev CSTO troops Almaty protests airport curfew emergency Zhanaozen fuel prices"
    day = datetime(2022, 1, 6, tzinfo=UTC)
    index = clusters.StoryIndex()
    index.add("first", 1, profiles.profile("Unrest in Almaty", text, {"kazakhstan", "tokayev"}, day, "en"))
    near = profiles.profile("Unrest in Almaty", text, {"kazakhstan", "tokayev"}, day + timedelta(days=1), "en")
    far = profiles.profile("Unrest in Almaty", text, {"kazakhstan", "tokayev"}, day + timedelta(days=30), "en")
    assert index.place(near, None).story_id == 1
    assert index.place(far, None).story_id is None


URANIUM = """---
title: Kazatomprom keeps 2022 uranium output plan despite unrest
published: 2022-01-07
---
Kazatomprom, the state uranium miner of Kazakhstan and the world's largest producer, said its mines
in the south of Kazakhstan were working normally and that it kept its production plan for 2022 of
between 21,000 and 22,000 tonnes of uranium. Spot uranium prices rose 8 percent this week as traders
weighed the risk to supply. The company said shipments through St Petersburg were on schedule and
that its sulphuric acid supply contracts had been renewed for the year.
"""


def _plain(digest) -> str:
    message = email.message_from_string(digest.message, policy=email.policy.default)
    return " ".join(message.get_body(("plain",)).get_content().split())


def test_story_comes_back_only_as_an_update_with_its_new_sources(world):
    settings, store, rules = world
    add_file(settings, "900_uranium.txt", URANIUM)
    day1 = datetime(2022, 1, 8, 4, 0, tzinfo=UTC)  # 09:00 in Almaty, after the 08:00 digest time
    pipeline.run_cycle(settings, store, rules, now=day1)
    followup = "---\ntitle: ОДКБ направит миротворцев в Казахстан\npublished: 2022-01-06\nlanguage: ru\n---\n"
    add_file(settings, "901_russian.txt", followup + RUSSIAN)
    pipeline.run_cycle(settings, store, rules, every_source=True, now=day1 + timedelta(days=1))
    first, second = sorted((d for d in store.digests(10) if d.kind == "daily"), key=lambda d: d.period_key)
    assert "Kazatomprom" in _plain(first) and "UPDATE" not in _plain(first)
    assert len(store.stories()) == 2
    day2 = _plain(second)
    assert "UPDATE: 1 new source" in day2 and "Kazatomprom" not in day2


def test_story_index_is_kept_between_cycles_until_another_process_places_articles(world):
    settings, store, rules = world
    cache = pipeline.StoryCache()
    pipeline.run_cycle(settings, store, rules, stories=cache)
    kept = cache.index
    add_file(settings, "900_uranium.txt", URANIUM)
    pipeline.run_cycle(settings, store, rules, every_source=True, stories=cache)
    followup = "---\ntitle: ОДКБ направит миротворцев в Казахстан\npublished: 2022-01-06\nlanguage: ru\n---\n"
    add_file(settings, "901_russian.txt", followup + RUSSIAN)
    pipeline.run_cycle(settings, store, rules, every_source=True, stories=cache)
    assert cache.index is kept and cache.builds == 1  # in step: used again
    assert store.stories()[0][0].article_count == 6
    add_file(settings, "902_more.txt", URANIUM.replace("Kazatomprom keeps", "Kazatomprom holds"))
    pipeline.collect(settings, store, True)
    pipeline.match(store, rules)
    pipeline.cluster(store)  # another instance places it
    add_file(settings, "903_more.txt", URANIUM.replace("Spot uranium prices rose 8", "Uranium futures rose 9"))
    pipeline.run_cycle(settings, store, rules, every_source=True, stories=cache)
    assert cache.builds == 2 and cache.index is not kept  # out of step: rebuilt from the database



def test_document_frequencies_count_the_last_articles_only():
    day = datetime(2022, 1, 1, tzinfo=UTC)
    index = clusters.StoryIndex(memory=20)
    for n in range(400):  # every article brings a word nobody else uses
        text = f"Officials in Almaty discussed fuel prices and the budget with word{n:03d}x and protesters."
        index.add(n, n, profiles.profile("Fuel prices", text, (), day + timedelta(hours=n), "en"))
    sizes = index.sizes()
    assert sizes["documents"] == 20
    assert sizes["terms"] < 30  # the common words and the last twenty articles' own: not the 400 seen
    vector = index._vector(profiles.profile("Fuel", "fuel prices word399x word100x", (), day, "en").terms)
    assert vector["word100x"] > vector["word399x"] > vector["fuel"] > 0  # forgotten, rare, common


def test_a_rebuilt_index_places_articles_as_the_index_that_never_stopped():
    """A daemon restarted after weeks counts the same last articles from the database
    (count()) and places the next article exactly as if it had never stopped."""
    start = datetime(2022, 1, 1, tzinfo=UTC)
    topics = ["fuel prices protest Zhanaozen", "uranium output Kazatomprom", "internet shutdown Almaty banks",
              "CSTO troops airport Almaty", "grain exports harvest Kostanay"]
    articles = []
    for n in range(120):
        words = topics[n % 5] + " " + topics[(n * 3) % 5].split()[0]
        text = f"Officials said on day {n // 4} that {words} dominated talks. Kazakhstan reported {words} again."
        articles.append((n, profiles.profile(topics[n % 5].title(), text, (), start + timedelta(hours=6 * n), "en")))
    nxt = profiles.profile("Uranium Output", "Kazatomprom said uranium output fell; Kazakhstan reported uranium output.",
                           (), start + timedelta(hours=6 * 120), "en")
    running = clusters.StoryIndex(memory=50)
    for n, profile in articles:
        running.add(n, n % 5 + 100 * (n // 40), profile)
    low = nxt.when - timedelta(days=clusters.WINDOW_DAYS)
    rebuilt = clusters.StoryIndex(memory=50)
    window = [(n, p) for n, p in articles if p.when >= low]
    for _, profile in [(n, p) for n, p in articles if p.when < low][-50:]:
        rebuilt.count(profile)
    for n, profile in window:
        rebuilt.add(n, n % 5 + 100 * (n // 40), profile)
    a, b = running.place(nxt, None), rebuilt.place(nxt, None)
    assert (a.story_id, a.score, a.reason) == (b.story_id, b.score, b.reason) and a.story_id is not None


def test_story_is_headed_by_the_first_original_in_the_language_most_of_it_is_in():
    from types import SimpleNamespace

    from monitor.stories.headline import lead_article

    def article(n, title, text, language=None, duplicate_of=None):
        published = datetime(2024, 2, 22, tzinfo=UTC) + timedelta(hours=n if n != 5 else -1)
        return SimpleNamespace(id=n, title=title, text=text, language=language, duplicate_of=duplicate_of,
                               published_at=published, first_seen_at=published)

    english = "The Collective Security Treaty Organization said on Friday that the country had frozen its participation."
    story = [
        article(1, "L'Arménie gèle sa participation à l'OTSC", "Le Premier ministre a dit que le pays avait gelé sa participation.", "fr"),
        article(2, "Armenia freezes CSTO membership: copy", english, duplicate_of=3),
        article(3, "Armenia freezes its participation in the CSTO", english),
        article(4, "Pashinyan: CSTO failed Armenia", english + " Pashinyan said so in an interview."),
    ]
    assert lead_article(story).id == 3  # English is the majority; the copy is passed over
    earlier = article(5, "Armenia says it has frozen its CSTO participation", english)  # published before 3
    assert lead_article(story + [earlier]).id == 5
    assert lead_article(story[:1]).id == 1
    assert lead_article([]) is None


def test_a_country_adjective_in_the_headline_is_no_new_name_for_a_story_about_the_country():
    """Uzbek beside Uzbekistan (skeletons "sbk" and "sbkstn") names no new event: only a
    name the story never mentioned in any form lowers the score."""
    day = datetime(2023, 1, 11, tzinfo=UTC)
    index = clusters.StoryIndex()
    for n, text in enumerate([
        "Residents of Tashkent protested on Wednesday over gas and power cuts in Uzbekistan, officials said.",
        "Power cuts left homes in Tashkent without heating as Uzbekistan faced its coldest winter, officials said.",
    ]):
        index.add(n, "outages", profiles.profile("Gas and power cuts in Tashkent", text, (), day + timedelta(hours=n), "en"))
    text = "The Uzbek president fired officials in Tashkent over gas and power cuts, officials said. Uzbek media reported protests."
    place = index.place(profiles.profile("Uzbek president fires officials over power cuts", text, (), day + timedelta(hours=5), "en"), None)
    assert place.story_id == "outages" and place.reason["new_names_in_headline"] == []


def test_articles_before_a_moment_are_the_latest_ones_oldest_first(world):
    settings, store, rules = world
    pipeline.run_cycle(settings, store, rules)
    everything = store.articles_in_stories(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    when = [a.published_at or a.first_seen_at for a in everything]
    latest = store.articles_before(datetime(2100, 1, 1, tzinfo=UTC), 2)
    assert [a.id for a in latest] == [a.id for a in everything[-2:]] and len(everything) == 5
    assert store.articles_before(min(when), 10) == []  # strictly before
