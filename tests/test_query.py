"""The rule query language: each operator on texts that must and must not match, and errors
that point at file, line and column."""

from __future__ import annotations

import shutil

import pytest

from monitor.errors import RuleFileError
from monitor.matching.engine import compile_rules, scan
from monitor.matching.rulefile import load_rules
from tests.conftest import ROOT


def compiled(tmp_path, query: str, extra: str = ""):
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "entities", folder / "entities")
    (folder / "q.toml").write_text(f"id = \"q\"\nquery = '''{query}'''\n{extra}", encoding="utf-8")
    return compile_rules(load_rules(folder))


def fires(matcher, title: str, text: str = "") -> bool:
    return any(m.rule_id == "q" for m in scan(matcher, title, text)[0])


CASES = [
    # query, title, text, expected
    ("troops AND Kazakhstan", "", "Russian troops land in Kazakhstan", True),
    ("troops AND Kazakhstan", "", "Russian troops land in Belarus", False),
    ("troops OR peacekeepers", "", "peacekeepers arrived", True),
    ("troops AND NOT exercise*", "", "troops held exercises", False),
    ("troops -exercise*", "", "troops arrived", True),
    ('"asset freeze"', "", "an asset freeze was ordered", True),
    ('"asset freeze"', "", "an asset will freeze", False),
    ("sanction*", "", "the sanctioning body", True),
    ("sanction*", "", "unsanctioned", False),
    ('"troops deploy*"~3', "", "troops were quickly deployed", True),
    ('"troops deploy*"~3', "", "troops of the army would be sent to deploy", False),
    ("troops NEAR/3 deploy*", "", "deploying the troops", True),
    ("protest* OR troops NEAR/2 deploy*", "", "troops arrived; later we deploy", False),
    ("protest* OR troops NEAR/2 deploy*", "", "protesters gathered", True),
    ("title:Kazakhstan", "Kazakhstan votes", "", True),
    ("title:Kazakhstan", "Elections", "Kazakhstan votes", False),
    ("lead:Kazakhstan", "", "Kazakhstan holds a vote on Sunday in all the regions of the country.\n\nMore here.", True),
    ("lead:Kazakhstan", "", "The vote is on Sunday in all the regions of the country, officials say.\n\nKazakhstan votes.", False),
    ("body:Kazakhstan", "Kazakhstan", "", False),
    ("CSTO", "", "the CSTO met", True),
    ("CSTO", "", "see example.org/csto-news", False),
    ("@csto AND @kazakhstan", "", "ОДКБ в Казахстане", True),
    ("@kazakhstan", "", "Kazan on the Volga", False),
    ("(a1 OR b1) AND (c1 OR d1)", "", "b1 and d1", True),
    ("(a1 OR b1) AND (c1 OR d1)", "", "b1 and a1", False),
]


@pytest.mark.parametrize(("query", "title", "text", "expected"), CASES)
def test_query_operators(tmp_path, query, title, text, expected):
    assert fires(compiled(tmp_path, query), title, text) is expected


def test_salience_threshold_needs_more_than_a_passing_mention(tmp_path):
    matcher = compiled(tmp_path, "Kazakhstan^1", "threshold = 3\n")
    assert not fires(matcher, "", "Members: Russia, Kazakhstan, Armenia.")
    assert fires(matcher, "", "Kazakhstan votes. Kazakhstan counts. Kazakhstan waits.")
    assert fires(matcher, "Kazakhstan votes")  # a title mention counts three times


def test_boost_weighs_a_term(tmp_path):
    matcher = compiled(tmp_path, "embargo^3 OR sanctions", "threshold = 3\n")
    assert fires(matcher, "", "an embargo")
    assert not fires(matcher, "", "sanctions")


def test_one_stretch_of_text_counts_once(tmp_path):
    matcher = compiled(tmp_path, "@kazakhstan OR Kazakh*", "threshold = 2\n")
    assert not fires(matcher, "", "Kazakhstan")  # found by both terms, still one mention


@pytest.mark.parametrize(
    ("query", "message", "line", "column"),
    [
        ("troops AND (deploy", "unexpected end", 2, 30),
        ("troops AND\n  NOT", "unexpected end", 3, 6),
        ("troops AND\n  headline:x", "unknown field 'headline'", 3, 3),
        ("tr?ops", "only a trailing *", 2, 14),
        ("NOT troops", "none of its terms", 2, 12),
        ("troops OR @atlantis", "no entity 'atlantis'", 2, 22),
        ("troops NEAR/3", "NEAR/n needs a term", 2, 19),
    ],
)
def test_query_errors_name_file_line_and_column(tmp_path, query, message, line, column):
    with pytest.raises(RuleFileError) as error:
        compiled(tmp_path, query)
    assert message in error.value.message
    assert error.value.path.endswith("q.toml") and (error.value.line, error.value.column) == (line, column)
    assert f"q.toml:{line}:{column}:" in str(error.value)


def test_rule_needs_a_query_or_terms(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "x.toml").write_text('id = "x"\n')
    with pytest.raises(RuleFileError, match="a query or a"):
        load_rules(folder)
