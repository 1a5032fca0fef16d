"""Text cleaning: HTML to text, boilerplate lines out, whitespace and dates normalized.

Order matters: HTML is reduced to text first, then boilerplate lines are removed,
then trailing teasers (unrelated headlines after the article's last paragraph).
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from datetime import UTC, datetime

from monitor.articles.urls import canonical_url
from monitor.types import CleanArticle, RawArticle

# Lines that are page furniture, never article text (seen in the seed corpus and on
# WordPress/news-theme sites). Compared after lower-casing and trimming punctuation.
BOILERPLATE_LINES = frozenset(
    {
        "advertisements", "advertisement", "politics", "show more", "related articles",
        "related posts", "leave a reply", "leave a comment", "back to top button",
        "source link", "comments are closed", "source site", "also read", "read more",
        "share", "share this", "share this article", "tweet", "print", "email",
        "you may also like", "more from author", "latest news",
    }
)
BOILERPLATE_PATTERNS = (
    re.compile(r"^your email address will not be published", re.I),
    re.compile(r"^required fields are marked", re.I),
    re.compile(r"^stay tuned to .{1,40} for", re.I),
    re.compile(r"^(follow|subscribe to) us on", re.I),
    re.compile(r"^source: ", re.I),  # photo credits ("Source: dpa / ...")
    re.compile(r"^\d+$"),  # share and view counters
    re.compile(r"^[\W_]*$"),  # lines of punctuation only
)
# A teaser block ("also read" + a headline) is dropped with the headline that follows it.
TEASER_MARKERS = frozenset({"also read", "read more", "related articles", "you may also like"})
# After the last real paragraph, short title-like lines are other articles' headlines.
# A paragraph is "real" when it has at least this many words.
MIN_PARAGRAPH_WORDS = 12
LEAD_MAX_CHARS = 600
_WHOLE_PAGE = re.compile(r"<(html|body|article|main)\b", re.I)
_SPACE_RUNS = re.compile(r"[ \t\u00a0]+")
SENTENCE_ENDS = frozenset('.!?"”»:')


def html_to_text(markup: str) -> str:
    """The main text of an HTML page (trafilatura) or of a fragment such as a feed summary."""
    if _WHOLE_PAGE.search(markup):
        import trafilatura  # only whole pages need it; feed summaries never load it (0.1 s)

        text = trafilatura.extract(markup, include_comments=False, include_tables=False, favor_recall=True)
        if text:
            return text
    stripped = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", markup)
    stripped = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</h\d>|</li>", "\n", stripped)
    return html.unescape(re.sub(r"<[^>]+>", " ", stripped))


def _key(line: str) -> str:
    """The line lower-cased, without what trails its last letter or digit (`[\\W_]+$`,
    done by hand: the regular expression tried every position of a long line)."""
    key = line.strip().lower()
    end = len(key)
    while end and not key[end - 1].isalnum():  # \w is isalnum() or "_"; [\W_] is neither
        end -= 1
    return key[:end].strip()


def is_boilerplate(line: str) -> bool:
    return _is_boilerplate(line.strip(), _key(line))


def _is_boilerplate(stripped: str, key: str) -> bool:
    return key in BOILERPLATE_LINES or any(p.search(stripped) for p in BOILERPLATE_PATTERNS)


def _spaces(line: str) -> str:
    """Runs of spaces, tabs and no-break spaces become one space (a line with none but
    single spaces is left as it is, without a substitution)."""
    if "  " in line or "\t" in line or "\u00a0" in line:
        line = _SPACE_RUNS.sub(" ", line)
    return line.strip()


def clean_text(text: str, title: str = "") -> str:
    """Article text without page furniture: one paragraph per line, no blank runs."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_spaces(line) for line in text.split("\n")]
    kept: list[str] = []
    in_teaser = False
    for line in lines:
        if not line:
            continue
        if in_teaser and not _ends_sentence(line):
            continue  # the teased headline and its kicker: no sentence punctuation
        key = _key(line)
        in_teaser = key in TEASER_MARKERS
        if in_teaser:
            continue
        if _is_boilerplate(line, key) or (title and line == title.strip()):
            continue
        kept.append(line)
    return "\n".join(_drop_trailing_headlines(kept))


def _ends_sentence(line: str) -> bool:
    """Whether the line ends with sentence punctuation (`[.!?"”»:]$`; `$` also matches
    before a final newline)."""
    line = line.removesuffix("\n")
    return bool(line) and line[-1] in SENTENCE_ENDS


def _looks_like_headline(line: str) -> bool:
    return len(line.split()) < MIN_PARAGRAPH_WORDS and not _ends_sentence(line)


def _drop_trailing_headlines(lines: list[str]) -> list[str]:
    """Short unpunctuated lines after the last paragraph are teasers for other articles."""
    end = len(lines)
    while end > 0 and _looks_like_headline(lines[end - 1]):
        end -= 1
    return lines[:end] if end else lines


def lead_of(text: str) -> str:
    """The first paragraph, as the article's lead (bounded)."""
    for line in text.split("\n"):
        if len(line.split()) >= MIN_PARAGRAPH_WORDS:
            return line[:LEAD_MAX_CHARS]
    return text[:LEAD_MAX_CHARS]


def content_hash(title: str, text: str) -> str:
    """Hash of the normalized words: the same text with other spacing or case hashes alike."""
    words = re.findall(r"\w+", f"{title}\n{text}".casefold())
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


def as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def clean(raw: RawArticle) -> CleanArticle:
    """The cleaning stage: a RawArticle becomes a CleanArticle."""
    title = re.sub(r"\s+", " ", html.unescape(raw.title)).strip()
    body = html_to_text(raw.body) if raw.is_html else raw.body
    text = clean_text(body, title)
    return CleanArticle(
        source=raw.source,
        guid=raw.guid,
        title=title or (text.split("\n", 1)[0][:200] if text else "(untitled)"),
        text=text,
        lead=lead_of(text),
        url=raw.url,
        canonical_url=canonical_url(raw.url),
        outlet=raw.outlet,
        author=raw.author,
        language=raw.language,
        published=as_utc(raw.published),
        content_hash=content_hash(title, text),
    )
