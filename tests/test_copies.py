"""Copies and cross-language stories, through `monitor scan --jsonl` and the story index."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from datasketch import LeanMinHash, MinHash

from monitor.cli import main
from monitor.sources.folder import read_folder
from monitor.stories import clusters, duplicates, profiles

SEEDS = Path(__file__).resolve().parent.parent / "seed_corpus"

RUSSIAN = (
    "Президент Казахстана Касым-Жомарт Токаев обратился к Организации Договора о коллективной безопасности "
    "с просьбой о помощи. Совет коллективной безопасности ОДКБ принял решение направить в Казахстан "
    "коллективные миротворческие силы на ограниченный период времени для стабилизации обстановки. "
    "Об этом сообщил председатель совета, премьер-министр Армении Никол Пашинян. В Алматы протестующие "
    "захватили здание акимата и аэропорт, власти ввели режим чрезвычайного положения по всей стране. "
    "Токаев заявил, что страна подверглась нападению террористических банд, прошедших подготовку за рубежом. "
    "В состав контингента ОДКБ войдут подразделения из России, Белоруссии, Армении, Таджикистана и Киргизии."
)


def _scan(project, tmp_path, capsys, extra: list[dict]) -> dict[str, dict]:
    lines = [
        json.dumps({"id": raw.guid, "title": raw.title, "text": raw.body, "url": raw.url, "source": raw.outlet or "seed",
                    "published": raw.published.isoformat() if raw.published else None})
        for raw in read_folder("seed", SEEDS)
    ] + [json.dumps(item, ensure_ascii=False) for item in extra]
    archive = tmp_path / "archive.jsonl"
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["--config", str(project), "scan", "--jsonl", str(archive)]) == 0
    return {r["id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}


def test_edited_copy_with_tracking_url_is_duplicate_of_the_original(project, tmp_path, capsys):
    original = next(read_folder("seed", SEEDS))
    words = original.body.split()
    for position in (40, 90, 150):
        words[position] = "reportedly"
    copy = {
        "id": "copy", "title": "Kazakhstan crisis: what we know", "source": "Syndicator",
        "url": "https://syndicator.example/world/kz-crisis?utm_source=rss&utm_medium=feed&fbclid=abc",
        "text": " ".join(words) + "\nRead more: https://syndicator.example/world",
        "published": "2022-01-08T10:00:00+00:00",
    }
    results = _scan(project, tmp_path, capsys, [copy])
    assert results["copy"]["duplicate_of"] == original.guid
    assert results["copy"]["story"] == results[original.guid]["story"]
    seeds = [r for key, r in results.items() if key != "copy"]
    assert all(r["duplicate_of"] is None for r in seeds)  # five reports, not copies of one another
    assert len({r["story"] for r in results.values()}) == 1


def test_russian_report_of_the_same_day_joins_the_seed_story(project, tmp_path, capsys):
    russian = {"id": "ru", "title": "ОДКБ направит миротворцев в Казахстан по просьбе Токаева", "text": RUSSIAN,
               "source": "Новости", "published": "2022-01-06T06:00:00+00:00", "lang": "ru"}
    results = _scan(project, tmp_path, capsys, [russian])
    assert {m["rule"] for m in results["ru"]["matches"]} >= {"kazakhstan", "csto"}
    assert results["ru"]["duplicate_of"] is None
    assert len({r["story"] for r in results.values()}) == 1


def test_short_texts_are_never_copies():
    assert duplicates.signature("Breaking: Kazakhstan protests") is None
    index = duplicates.CopyIndex()
    index.add("a", duplicates.signature(RUSSIAN))
    assert index.find(None) is None and len(index) == 1


def test_names_are_one_across_scripts_and_spellings():
    pairs = [("Масимов", "Masimov"), ("Назарбаева", "Nazarbayev"), ("Токаев", "Tokayev"), ("Ереван", "Yerevan"),
             # Russian case endings, German and Russian spellings of Tajik and Kyrgyz names
             ("Масимовым", "Masimov"), ("Таджикистана", "Tajikistan"), ("Tadschikistan", "Tajikistan"),
             ("Жээнбеков", "Jeenbekov"), ("Хорога", "Khorugh"), ("Казахстаном", "Kasachstan"), ("Сооронбай", "Sooronbai")]
    assert [(a, b) for a, b in pairs if not profiles.skeleton(a) == profiles.skeleton(b) != ""] == []
    assert profiles.skeleton("Kazan") != profiles.skeleton("Kazakhstan")
    assert profiles.skeleton("Ибрагим") == profiles.skeleton("Ibragim")  # a name ending in -им keeps it
    # acronyms each language spells its own way are one name
    english, french, russian = (profiles.names_of(text) for text in ("So the EU and NATO agreed.", "Selon Paris, l'UE et l'OTAN.", "Как заявили ЕС и НАТО."))
    assert english.keys() == french.keys() == russian.keys() == {"#eu", "#nato"}


def test_candidates_come_from_the_index_not_from_every_story():
    day = datetime(2022, 1, 6, tzinfo=UTC)
    index = clusters.StoryIndex()
    for n in range(300):  # unrelated stories of the same week
        text = " ".join(f"topic{n}word{k}" for k in range(30))
        index.add(n, n, profiles.profile(f"Story {n}", text, (), day + timedelta(minutes=n), "en"))
    seed = next(read_folder("seed", SEEDS))
    index.add("seed", "kz", profiles.profile(seed.title, seed.body, {"kazakhstan"}, day, "en"))
    other = list(read_folder("seed", SEEDS))[1]
    place = index.place(profiles.profile(other.title, other.body, {"kazakhstan"}, day, "en"), None)
    assert place.story_id == "kz" and place.reason["candidates"] < 10
    assert place.reason["top_terms"] and "kazakhstan" in place.reason["shared_entities"]


def test_closed_stories_are_forgotten():
    day = datetime(2022, 1, 6, tzinfo=UTC)
    index = clusters.StoryIndex()
    text = " ".join(f"word{k}" for k in range(40))
    index.add("old", 1, profiles.profile("Old", text, (), day, "en"), duplicates.signature(text))
    index.add("new", 2, profiles.profile("New", "fresh news " * 5, (), day + timedelta(days=60), "en"))
    assert 1 not in index.stories and len(index._copies) == 0


def test_signature_is_what_datasketch_computes_for_the_same_shingles():
    """signature() computes the MinHash in numpy; datasketch's own update_batch must agree,
    or signatures would stop matching what its LSH and Jaccard estimate expect."""
    text = " ".join(f"word{n % 37} other{n % 11} more{n}" for n in range(80))
    grams = duplicates.shingles(text)
    reference = MinHash(num_perm=duplicates.NUM_PERM, seed=1, hashfunc=int, scheme="affine32")
    reference.update_batch(grams.tolist())
    ours = duplicates.signature(text)
    assert ours is not None and ours.scheme == reference.scheme
    assert (ours.hashvalues == reference.hashvalues).all()
    assert ours.jaccard(LeanMinHash(reference)) == 1.0
