"""Rendering a digest with the Jinja2 templates in templates/: subject, plain text, HTML.

Autoescape is on for .html.j2 templates: article text never reaches the email as markup,
and the `link` filter lets only http(s) addresses become links (never `javascript:`).
The template's <style> block is then inlined into style="" attributes (css-inline), since
many mail clients drop <style>; only @media rules (phone widths) stay in the head.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from monitor.articles.urls import is_http_url
from monitor.digests.build import DigestContent, StoryItem

TEXT_WIDTH = 72
# Inline every rule; keep only @media in a <style>; never fetch a stylesheet over the
# network (css-inline would by default, see shared DEPENDENCIES.md).
INLINER = css_inline.CSSInliner(keep_style_tags=False, keep_at_rules=True, load_remote_stylesheets=False)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def environment(templates: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates)),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "html.j2"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = wrap
    env.filters["highlight"] = highlight
    env.filters["link"] = link
    return env


def link(url: str | None) -> str | None:
    """The address when it is safe to link to (http or https), else None."""
    return url.strip() if is_http_url(url) else None


def wrap(text: str, indent: str = "", hang: str | None = None, width: int = TEXT_WIDTH) -> str:
    """Fill to `width` columns; continuation lines start with `hang` (default: `indent`)."""
    return textwrap.fill(
        " ".join(str(text).split()),
        width=width,
        initial_indent=indent,
        subsequent_indent=indent if hang is None else hang,
        break_long_words=False,
        break_on_hyphens=False,
    )


def highlight(text: str, terms) -> Markup:
    """Escape `text`, then wrap the matched terms in <mark>."""
    escaped = str(escape(text))
    words = [str(escape(t)) for t in terms if t.strip()]
    if not words:
        return Markup(escaped)
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    return Markup(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped))


def localtime(moment: datetime | None, zone: str, fmt: str = "%d %b %Y %H:%M %Z") -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt) if moment else "unknown"


def _local_date(digest: DigestContent) -> str:
    return digest.generated_at.astimezone(ZoneInfo(digest.timezone)).strftime("%d %b %Y")


def subject_line(digest: DigestContent) -> str:
    """'Media monitor digest, 25 Nov 2026: Kazakhstan 3, CSTO 1' or, for an alert,
    'Alert (Kazakhstan): <headline>'. Never more than one line."""
    if digest.kind == "alert":
        story = next(s for section in digest.sections for s in section.stories)
        rules = ", ".join(section.title for section in digest.sections if section.count)
        subject = f"Alert ({rules}): {'update: ' if story.new_sources else ''}{story.headline}"
    else:
        counts = ", ".join(f"{s.title} {s.count}" for s in digest.sections if s.count)
        subject = f"Media monitor digest, {_local_date(digest)}: {counts or 'nothing new'}"
    return re.sub(r"\s+", " ", subject).strip()  # CR/LF never reach a header


def update_note(item: StoryItem, zone: str) -> str:
    """'3 new sources since 24 Nov 2026' for a story the recipient was sent before."""
    plural = "s" if item.new_sources != 1 else ""
    since = f" since {localtime(item.sent_before, zone, '%d %b %Y')}" if item.sent_before else ""
    return f"{item.new_sources} new source{plural}{since}"


def render(digest: DigestContent, templates: Path) -> Rendered:
    env = environment(templates)
    items = {s.story_id: s for section in digest.sections for s in section.stories + section.more}
    context = {
        "d": digest,
        "subject": subject_line(digest),
        "title": subject_line(digest) if digest.kind == "alert" else f"Briefing of {_local_date(digest)}",
        "updates": sum(1 for item in items.values() if item.new_sources),
        "when": lambda m: localtime(m, digest.timezone),
        "day": lambda m: localtime(m, "UTC", "%d %b %Y"),
        "update_note": lambda item: update_note(item, digest.timezone),
    }
    text = env.get_template("digest.txt.j2").render(**context)
    html = INLINER.inline(env.get_template("digest.html.j2").render(**context))
    return Rendered(context["subject"], text, html)
