"""Rendering a digest with the Jinja2 templates in templates/: subject, plain text, HTML.

Autoescape is on for .html.j2 templates: article text never reaches the email as markup.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from monitor.digests.build import DigestContent

TEXT_WIDTH = 72


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
    return env


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
    return Markup(pattern.sub(lambda m: f'<mark style="background:#fff3b0;">{m.group(0)}</mark>', escaped))


def localtime(moment: datetime | None, zone: str, fmt: str = "%d %b %Y %H:%M %Z") -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt) if moment else "unknown"


def subject_line(digest: DigestContent) -> str:
    date = digest.generated_at.astimezone(ZoneInfo(digest.timezone)).strftime("%d %b %Y")
    counts = ", ".join(f"{s.title} {len(s.stories) + len(s.more)}" for s in digest.sections if s.stories)
    subject = f"Media monitor digest, {date}: {counts or 'nothing new'}"
    return re.sub(r"[\r\n\t]+", " ", subject)  # never a header injection


def render(digest: DigestContent, templates: Path) -> Rendered:
    env = environment(templates)
    context = {
        "d": digest,
        "subject": subject_line(digest),
        "when": lambda m: localtime(m, digest.timezone),
        "day": lambda m: localtime(m, "UTC", "%d %b %Y"),
    }
    text = env.get_template("digest.txt.j2").render(**context)
    html = env.get_template("digest.html.j2").render(**context)
    return Rendered(context["subject"], text, html)
