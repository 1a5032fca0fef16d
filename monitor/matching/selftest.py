"""Self-tests carried by the rule files: `[[example]]` texts a rule must or must not match.

Each example is scanned with the whole compiled rule set, exactly as an article would be,
and the rule's verdict is compared with the example's `match`.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.matching.engine import Matcher, scan


@dataclass(frozen=True)
class Outcome:
    rule_id: str
    file: str
    line: int | None
    expected: bool
    fired: bool
    why: str  # the match summary, or what the example was

    @property
    def passed(self) -> bool:
        return self.expected == self.fired

    def describe(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        verdict = "ok" if self.passed else "FAILED"
        wanted = "should match" if self.expected else "should not match"
        return f"{verdict:6} {where}: {self.rule_id} {wanted}; {'fired' if self.fired else 'did not fire'} ({self.why})"


def run_examples(matcher: Matcher) -> list[Outcome]:
    outcomes = []
    for rule in matcher.ruleset.rules:
        for example in rule.examples:
            matches, _ = scan(matcher, example.title, example.text)
            mine = next((m for m in matches if m.rule_id == rule.id), None)
            why = mine.summary() if mine else (example.title or example.text)[:60]
            outcomes.append(Outcome(rule.id, rule.file, example.line, example.match, mine is not None, why))
    return outcomes
