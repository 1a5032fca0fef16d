from __future__ import annotations

import json
import random
import shutil

import pytest
from rapidfuzz.distance import Levenshtein

from monitor.articles.clean import clean
from monitor.config import load_settings
from monitor.errors import RuleFileError
from monitor.matching import vocabulary
from monitor.matching.engine import ByTerm, compile_rules, judge, scan
from monitor.matching.mentions import Capitals, find_mentions
from monitor.matching.entities import Entity, is_acronym
from monitor.matching.fuzzy import FIXED_WORD_MAX, allowed_edits
from monitor.matching.normalize import fold_term
from monitor.matching.query import parse_query
from monitor.matching.rulefile import Rule, RuleSet, load_rules
from monitor.pipeline import reload_rules
from monitor.sources.folder import read_folder
from tests.conftest import ROOT, SEEDS


@pytest.fixture(scope="module")
def matcher():
    return compile_rules(load_rules(ROOT / "rules"))


@pytest.fixture(scope="module")
def seed_scans(matcher):
    return {raw.guid: scan(matcher, clean(raw).title, clean(raw).text) for raw in read_folder("seed", SEEDS)}


def rule_ids(matches):
    return {m.rule_id for m in matches}


def test_every_seed_matches_kazakhstan_and_csto_and_none_sanctions(seed_scans):
    assert len(seed_scans) == 5
    for guid, (matches, entities) in seed_scans.items():
        assert rule_ids(matches) == {"kazakhstan", "csto"}, guid
        assert {"kazakhstan", "tokayev", "csto"} <= entities, guid


@pytest.mark.parametrize(
    ("guid", "variant"),
    [
        ("file:001_0849827d0f247804.txt", "Kazakhastan"),
        ("file:003_6ca24356f9142846.txt", "Kassym-Shomart Tokayev"),
        ("file:004_8a447c3708be5968.txt", "Kassym-Jopart Tokayev"),
    ],
)
def test_seed_spelling_variants_are_caught_fuzzily(seed_scans, guid, variant):
    matches, _ = seed_scans[guid]
    fuzzy = {h.found for m in matches for h in m.hits if h.how.startswith("fuzzy")}
    assert variant in fuzzy


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Qasim Jomart Tokayev spoke", "tokayev"),
        ("the CTSC alliance", "csto"),
        ("the Collective Security Treaty Group said", "csto"),
        ("Vladimir Poutine a parlé", "putin"),
        ("В Казахстане начались протесты", "kazakhstan"),
        ("Президент Токаева поддержали", "tokayev"),
        ("Саммит ОДКБ в Москве", "csto"),
        ("Qazaqstan Respublikasy", "kazakhstan"),
        ("a Kazakhstani official", "kazakhstan"),
        ("Тоқаев мәлімдеді", "tokayev"),
    ],
)
def test_aliases_across_scripts(matcher, text, entity):
    assert entity in scan(matcher, "", text)[1]


@pytest.mark.parametrize(
    "text",
    [
        "Kazan is a city on the Volga.",
        "Tokaj wine from Hungary.",
        "see https://example.org/csto-news for more",  # an acronym in lower case is not the CSTO
        "Uzbekistan and Turkmenistan signed a water deal.",
        "Kazakhstanneftegaz",  # a mention must be a whole word
    ],
)
def test_look_alikes_are_not_entities(matcher, text):
    _, entities = scan(matcher, "", text)
    assert not entities & {"kazakhstan", "tokayev", "csto"}


def test_passing_mention_does_not_fire(matcher):
    text = "The alliance's members include Russia, Belarus, Armenia, Kazakhstan, Kyrgyzstan and Tajikistan."
    assert "kazakhstan" not in rule_ids(scan(matcher, "Alliance meets in Minsk", text)[0])


def test_sanctions_fires_on_sanctions_not_on_sport(matcher):
    text = "OFAC added the bank to the SDN list; the EU imposed sanctions and an asset freeze."
    assert "sanctions" in rule_ids(scan(matcher, "New sanctions on Russian banks", text)[0])
    sport = "UEFA imposed disciplinary sanctions on the club after the match."
    assert "sanctions" not in rule_ids(scan(matcher, "Club sanctioned", sport)[0])


def test_match_carries_its_evidence(seed_scans):
    matches, _ = seed_scans["file:001_0849827d0f247804.txt"]
    kz = next(m for m in matches if m.rule_id == "kazakhstan")
    assert kz.score >= kz.threshold
    title_hit = next(h for h in kz.hits if h.field == "title")
    assert title_hit.found == "Kazakhastan" and title_hit.offset == len("Bloody protests in ")
    assert "variant: Kazakhastan" in kz.summary()


def test_fuzzy_variant_is_the_misspelt_words_as_they_stand(matcher):
    # "Kazakhstan's" folds to two words, "kazakhstan s"; an exact "Kazakhstan" followed by a
    # short word ("so", ", a", ". A") once passed for a one-edit variant of it.
    text = "Protests in Kazakhstan so far. In Kazakhstan, a man said (per Kazakhstan. A) that Kazakhastan's police left."
    kz = next(m for m in scan(matcher, "Kazakhstan news", text)[0] if m.rule_id == "kazakhstan")
    assert {h.found for h in kz.hits if h.how.startswith("fuzzy")} == {"Kazakhastan's"}
    assert [h.found for h in kz.hits if h.field == "body"][:3] == ["Kazakhstan"] * 3
    assert "(in title; variant: Kazakhastan's)" in kz.summary()


def _fuzzy_windows_by_brute_force(matcher, text: str) -> set[tuple[int, int, str]]:
    """Every run of whole words within the allowed edits of a fuzzy alias, by trying them all."""
    words, found = text.split(" "), set()
    starts = [sum(len(w) + 1 for w in words[:i]) for i in range(len(words))]
    for entity in matcher.ruleset.entities.values():
        for alias in entity.aliases if entity.fuzzy else ():
            folded, edits = fold_term(alias), 0 if is_acronym(alias) else allowed_edits(fold_term(alias))
            size = folded.count(" ") + 1
            for i in range(len(words) - size + 1) if edits else ():
                start, end = starts[i], starts[i + size - 1] + len(words[i + size - 1])
                window = text[start:end]
                short_kept = all(a == w for a, w in zip(folded.split(" "), window.split(" ")) if len(a) <= FIXED_WORD_MAX)
                denied = window in {fold_term(d) for d in entity.deny}
                if 0 < Levenshtein.distance(window, folded) <= edits and short_kept and not denied:
                    found.add((start, end, f"@{entity.id}"))
    return found


def _assert_found_as_by_brute_force(matcher, variant: str) -> None:
    text = fold_term(f"on {variant} said")
    found = {f[:3] for f in find_mentions(matcher, text).fuzzy}
    assert found == _fuzzy_windows_by_brute_force(matcher, text), text


def test_fuzzy_matching_misses_no_variant(matcher):
    """The pieces the automaton looks for find every variant trying every window would."""
    rng = random.Random(9)
    aliases = [a for e in matcher.ruleset.entities.values() if e.fuzzy for a in e.aliases]
    for _ in range(1500):
        variant = list(fold_term(rng.choice(aliases)))
        for _ in range(rng.choice((1, 1, 2, 2, 3))):  # deletions, insertions, substitutions, spaces too
            at = rng.randrange(len(variant) + 1)
            variant[at:at + rng.choice((0, 1))] = rng.choice(("", rng.choice("aeikostz "))) or []
        _assert_found_as_by_brute_force(matcher, ''.join(variant))


def _copy_rules(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    return folder


def test_toml_error_names_file_line_and_column(tmp_path):
    folder = _copy_rules(tmp_path)
    (folder / "broken.toml").write_text('id = "broken"\nthreshold = \n')
    with pytest.raises(RuleFileError) as error:
        load_rules(folder)
    assert error.value.path.endswith("broken.toml") and error.value.line == 2 and error.value.column


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        ('id = "x"\nthreshold = 1\n\n[terms]\n"@atlantis" = 1\n', "no entity 'atlantis'", 5),
        ('id = "x"\nthresold = 1\n[terms]\nfoo = 1\n', "unknown key 'thresold'", 2),
        ('id = "csto"\n[terms]\nfoo = 1\n', "already used", 1),
        ('id = "x"\nalert = "hourly"\n[terms]\nfoo = 1\n', "alert must be", 2),
    ],
)
def test_semantic_errors_name_file_and_line(tmp_path, content, message, line):
    folder = _copy_rules(tmp_path)
    (folder / "zz_bad.toml").write_text(content)
    with pytest.raises(RuleFileError) as error:
        load_rules(folder)
    assert message in str(error.value) and error.value.line == line and "zz_bad.toml" in str(error.value)


def test_broken_edit_keeps_last_good_rules(project, tmp_path, caplog):
    folder = _copy_rules(tmp_path)
    project.write_text(project.read_text().replace(f'path = "{ROOT / "rules"}"', f'path = "{folder}"'))
    settings = load_settings(project)
    good = reload_rules(settings, None)
    (folder / "csto.toml").write_text('id = "csto"\n[terms\n')
    kept = reload_rules(settings, good)
    assert kept.ruleset.get("csto") == good.ruleset.get("csto") and "csto.toml:2" in caplog.text
    (folder / "csto.toml").write_text('id = "csto"\nthreshold = 1\n[terms]\n"@csto" = 1\n')
    fixed = reload_rules(settings, kept)
    assert fixed is not good and fixed.ruleset.get("csto").threshold == 1


def _ruleset(queries: dict[str, str], entities: dict) -> RuleSet:
    rules = tuple(Rule(rid, rid, "", "digest", 1.0, (), (), "test", parse_query(q), q) for rid, q in queries.items())
    return RuleSet(rules, entities, "test")


def test_keywords_no_rule_triggers_on_stay_out_of_the_automaton_and_still_count():
    """Only triggers, entities and checked terms are automaton keys; the other keywords of a
    candidate rule are looked up in the text, with the same evidence as before."""
    steppe = Entity("steppe", "Steppe Republic", "place", ("Steppe Republic", "Steppeland"), fuzzy=True)
    matcher = compile_rules(_ruleset({"r": '@steppe AND (protest* OR "oil price") AND NOT football'}, {"steppe": steppe}))
    assert not matcher.automaton.exists(" protest") and not matcher.automaton.exists(" football ")
    assert matcher.automaton.exists(" steppeland ")
    text = "Protesters gathered in Steppeland; the oil price fell. Protests went on."
    (match,) = scan(matcher, "", text)[0]
    assert [(h.term, h.found, h.offset, h.how) for h in match.hits] == [
        ("protest*", "Protesters", 0, "keyword"),
        ("@steppe", "Steppeland", 23, "alias"),
        ("oil price", "oil price", 39, "keyword"),
        ("protest*", "Protests", 55, "keyword"),
    ]
    assert scan(matcher, "", text + " Football too.")[0] == []


def test_terms_are_looked_for_only_when_a_rule_asks():
    """A candidate rule turned down by one operand never looks for its other terms, and one
    turned down gathers no evidence; a term's mentions are the same whichever rules ask for it."""
    steppe = Entity("steppe", "Steppe Republic", "place", ("Steppeland",), fuzzy=True)
    queries = {"a": "@steppe AND wheat AND (harvest OR drought)", "b": "@steppe AND (drought OR flood*)"}
    matcher = compile_rules(_ruleset(queries, {"steppe": steppe}))
    text = "Steppeland: floods and drought. Floodwater rose."
    title, body = find_mentions(matcher, ""), find_mentions(matcher, text)
    by_term = ByTerm(matcher, title, body)
    assert judge(matcher.ruleset.rules[0], by_term) is None
    assert "wheat" in by_term.present and not {"harvest", "drought"} & set(by_term.present)  # looked up only as asked
    assert not by_term.found  # and no evidence gathered
    match = judge(matcher.ruleset.rules[1], by_term)
    assert [(h.term, h.found) for h in match.hits] == [("@steppe", "Steppeland"), ("flood*", "floods"), ("drought", "drought"), ("flood*", "Floodwater")]
    assert [m.rule_id for m in scan(matcher, "", text)[0]] == ["b"]


def test_an_acronym_key_is_gated_by_its_letters_written_anywhere(matcher):
    """A key whose checked patterns are all one one-word acronym is turned down at once where an
    ASCII field never writes its letters; where it does, each hit is checked as before."""
    gated = {key.gate for key in matcher.automaton.values() if getattr(key, "gate", "")}
    assert "CSTO" in gated
    assert "csto" not in scan(matcher, "", "see example.org/csto-news and csto.int")[1]
    assert "csto" in scan(matcher, "", "The CSTO met; csto.int says so")[1]


def test_long_single_word_variants_with_both_ends_edited_are_found():
    """A one-word alias of 16+ letters may lose both ends to two edits; its middle piece is
    looked for only a third into the word (give or take one), and still finds them all."""
    oil = Entity("oil", "Kazakhstanneftegaz", "organization", ("Kazakhstanneftegaz", "Nursultanabishevich"), fuzzy=True)
    matcher = compile_rules(_ruleset({"r": "@oil"}, {"oil": oil}))
    assert len(matcher.inner)
    rng = random.Random(16)
    for _ in range(3000):
        variant = list(fold_term(rng.choice(oil.aliases)))
        for side in (0, 1):  # one edit in each outer third, now and then one more anywhere
            for at in [rng.randrange(6) if side == 0 else len(variant) - rng.randrange(1, 7)] + [rng.randrange(len(variant))] * (rng.random() < 0.2):
                variant[at:at + rng.choice((0, 1))] = rng.choice(("", rng.choice("aeikostz"))) or []
        _assert_found_as_by_brute_force(matcher, ''.join(variant))


@pytest.mark.parametrize("source", ["The CSTO and the EU met; G7 (U.S.) too. BRAIN", "Москва: CSTO", "no capitals at all", ""])
def test_capitals_say_what_a_search_of_the_field_says(source):
    capitals = Capitals(source)
    for letters in ("CSTO", "EU", "G7", "US", "BRAI", "RAIN", "ODKB", "ОДКБ", "Csto", "at"):
        assert capitals.writes(letters) == (letters in source or not source.isascii()), letters


def test_two_word_variants_with_an_edit_in_each_word_are_found():
    """A two-word alias of 16+ letters may take one edit in each word; the halves of its longer
    word, looked for only in words within one edit of that word, still find them all."""
    person = Entity("p", "Nursultan Abishevich", "person", ("Nursultan Abishevich", "Kairat Zhumabekovich"), fuzzy=True)
    matcher = compile_rules(_ruleset({"r": "@p"}, {"p": person}))
    rng = random.Random(22)
    for _ in range(3000):
        words = [list(word) for word in fold_term(rng.choice(person.aliases)).split(" ")]
        for word in words:  # one edit in each word, now and then one more anywhere
            for _ in range(1 + (rng.random() < 0.2)):
                at = rng.randrange(len(word) + 1)
                word[at:at + rng.choice((0, 1))] = rng.choice(("", rng.choice("aeikostz"))) or []
        _assert_found_as_by_brute_force(matcher, ' '.join(''.join(word) for word in words))


def test_vocabulary_that_forgets_matches_the_same(monkeypatch):
    """The vocabulary's memo of words starts afresh when full; what matches does not change,
    and a word is only ever looked up in a memo that agrees with itself."""
    articles = [json.loads(line) for line in (ROOT / "tests" / "data" / "rules" / "heldout.jsonl").read_text().splitlines()]
    remembering = compile_rules(load_rules(ROOT / "rules"))
    expected = [scan(remembering, a["title"], a["text"]) for a in articles]
    monkeypatch.setattr(vocabulary, "MAX_WORDS", 50)  # far fewer than one article's words
    forgetting = compile_rules(load_rules(ROOT / "rules"))
    assert [scan(forgetting, a["title"], a["text"]) for a in articles] == expected
    boring, hits = forgetting.vocabulary.memo
    assert boring.isdisjoint(hits) and len(boring) + len(hits) < 2_000
    assert any(matches for matches, _ in expected)


def test_a_negative_term_is_not_outweighed_by_a_positive_one_inside_it():
    """A stretch that a negative term names counts as that term: "sanctioning body" = -2 is not
    scored +0.75 for the "sanctioning" inside it; elsewhere the heavier of two overlaps counts."""
    terms = (("sanctions", 1.0), ("sanctioning", 0.75), ("sanctioning body", -2.0), ("new sanctions", 1.5))
    rule = Rule("r", "r", "", "digest", -10.0, terms, (), "test", parse_query("sanction*"), "sanction*")
    matcher = compile_rules(RuleSet((rule,), {}, "test"))
    (match,) = scan(matcher, "", "The sanctioning body met. New sanctions followed; sanctioning them was easy.")[0]
    assert [(h.found, h.weight) for h in match.hits] == [("sanctioning body", -2.0), ("New sanctions", 1.5), ("sanctioning", 0.75)]
    assert match.score == 0.25
