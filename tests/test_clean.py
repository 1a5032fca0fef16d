from __future__ import annotations

import pytest

from monitor.articles.clean import clean, clean_text, content_hash, html_to_text
from monitor.articles.urls import canonical_url
from monitor.sources.folder import read_folder
from tests.conftest import SEEDS

BOILERPLATE = [
    "Advertisements", "Leave a Reply", "Show More", "Related Articles", "Back to top button",
    "Source link", "Comments are closed.", "Leave a reply", "source site",
    "Your email address will not be published. Required fields are marked *",
    "Stay tuned to BaaghiTV for latest news and Updates!",
]


@pytest.fixture(scope="module")
def seeds():
    return [clean(raw) for raw in read_folder("seed corpus", SEEDS)]


@pytest.mark.parametrize("line", BOILERPLATE)
def test_no_boilerplate_line_survives(seeds, line):
    for article in seeds:
        assert line not in article.text.split("\n")


def test_share_counters_and_teasers_are_dropped(seeds):
    baaghi = next(a for a in seeds if a.outlet == "BaaghiTV")
    assert "0" not in baaghi.text.split("\n") and "81" not in baaghi.text.split("\n")
    assert "Qatar Airways" not in baaghi.text  # an unrelated trailing headline
    welt = next(a for a in seeds if a.title.startswith("State of emergency"))
    assert "Baerbock" not in welt.text and "Maduro" not in welt.text  # "also read" teasers
    assert "Kazakhstan struggling" not in welt.text
    assert "Nevertheless, Kazakhstan is struggling with mismanagement and poverty." in welt.text


def test_article_text_is_kept(seeds):
    for article in seeds:
        assert len(article.text) > 3000
        assert article.lead and len(article.lead.split()) >= 12


def test_html_is_reduced_to_text():
    html = (
        "<html><body><nav>Home | World</nav><article><h1>Title</h1>"
        "<p>Kazakhstan's president asked the CSTO for help as protests spread across the country on Wednesday.</p>"
        "<p>Troops arrived in Almaty the next morning, officials in Nur-Sultan said in a statement to reporters.</p>"
        "<script>alert(1)</script></article><footer>Back to top button</footer></body></html>"
    )
    text = clean_text(html_to_text(html))
    assert "asked the CSTO for help" in text and "Troops arrived in Almaty" in text
    assert "alert(1)" not in text and "Back to top" not in text


def test_same_words_hash_alike():
    assert content_hash("T", "Hello,   World\n") == content_hash("t", "hello world")
    assert content_hash("T", "Hello World") != content_hash("T", "Hello Word")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.org:80/news/story/?utm_source=x&id=3#top", "https://example.org/news/story?id=3"),
        ("https://example.org/news/story?fbclid=abc&gclid=d", "https://example.org/news/story"),
        ("https://example.org/amp/news/story/", "https://example.org/news/story"),
        ("https://amp.example.org/news/story/amp", "https://example.org/news/story"),
        ("https://example.org:8443/a?b=2&a=1", "https://example.org:8443/a?a=1&b=2"),
        ("javascript:alert(1)", None),
        ("ftp://example.org/file", None),
        (None, None),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected
