"""Article files for tests that need stories of their own, beside the seed corpus."""

from __future__ import annotations

from pathlib import Path

# Distinct events, each about Kazakhstan (title mention: the rule fires), weeks apart (never one story).
EVENTS = {
    "wheat": (
        "Kazakhstan signs a wheat export deal with Egypt",
        "2026-11-24",
        "Grain traders in Kostanay expect shipments through the Caspian ports to begin in spring.",
    ),
    "minister": (
        "Tokayev dismisses the Kazakhstan energy minister after blackouts",
        "2026-10-02",
        "Power cuts left Ekibastuz without heating for two days before the decree was signed.",
    ),
    "railway": (
        "Kazakhstan opens a railway line to the Chinese border at Bakhty",
        "2026-09-10",
        "The single-track line shortens freight routes by three hundred kilometres, engineers said.",
    ),
}


def write_article(folder: Path, name: str, title: str, published: str, body: str, outlet: str = "Test Wire") -> Path:
    path = folder / f"{name}.txt"
    slug = name.replace("_", "-")
    path.write_text(
        f"---\ntitle: {title}\noutlet: {outlet}\npublished: {published}\n"
        f"url: https://news.example.org/{slug}\nlanguage: en\n---\n{body}\n",
        encoding="utf-8",
    )
    return path


def write_event(folder: Path, event: str, suffix: str = "", outlet: str = "Test Wire") -> Path:
    title, published, body = EVENTS[event]
    return write_article(folder, f"zz_{event}{suffix}", title, published, body, outlet)
