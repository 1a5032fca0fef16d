"""Rule queries in the Lucene syntax analysts know from Elasticsearch, Kibana and Lucene Monitor.

    query = '''
      (@kazakhstan OR Kazakh*) AND (protest* OR "state of emergency" OR troops NEAR/5 deploy*)
      AND NOT title:(football OR UEFA)
    '''

| syntax                      | means                                                           |
| --------------------------- | --------------------------------------------------------------- |
| `a AND b`, `a OR b`, `NOT a`, `-a`, `( )` | boolean logic; words side by side mean AND      |
| `"asset freeze"`            | the exact phrase (case and punctuation ignored)                 |
| `sanction*`                 | any word starting so (trailing `*` only)                        |
| `"troops deploy*"~5`, `troops NEAR/5 deploy*` | every part within 5 words of the first        |
| `title:`, `lead:`, `body:`  | only in the title, the first paragraph, the text (lead included)|
| `CSTO`                      | capitals of up to six letters: an acronym, matched as written   |
| `@csto`                     | an entity of rules/entities/ with all its spellings             |
| `sanctions^2`               | weight 2 for the rule's score (default 1, title mentions x3)    |

Parsing (luqum) happens here and only here; the result is a small tree of frozen
nodes the engine evaluates against the mentions one automaton pass found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from luqum import tree
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.parser import parser

FIELDS = ("title", "lead", "body")
# NEAR/5 is Meltwater/Talkwalker syntax; luqum does not know it, so it becomes a word of the
# same length (NEAR_5) and positions in error messages stay right.
_NEAR = re.compile(r"\bNEAR/(\d+)\b")
_NEAR_WORD = re.compile(r"NEAR_(\d+)")
_POSITION = re.compile(r"at position (\d+)")
_WILDCARDS = re.compile(r"[?*]")


class QueryError(ValueError):
    """A query that cannot be used; `position` is the character offset in the query."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Term:
    key: str  # the term as the automaton knows it: "@entity", "word", "prefix*", "a phrase"
    field: str | None  # None: anywhere; else one of FIELDS
    weight: float


@dataclass(frozen=True)
class All:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Any:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


@dataclass(frozen=True)
class Near:
    parts: tuple[Node, ...]  # Terms or Anys of Terms
    distance: int  # in words


Node = Term | All | Any | Not | Near


def parse_query(text: str) -> Node:
    """The query as a tree of nodes; QueryError (with its position) when it cannot be used."""
    prepared = _NEAR.sub(lambda m: "NEAR_" + m.group(1), text)
    if not prepared.strip():
        raise QueryError("the query is empty", 0)
    try:
        parsed = parser.parse(prepared)
    except (ParseError, IllegalCharacterError) as exc:
        found = _POSITION.search(str(exc))
        position = int(found.group(1)) if found else len(text.rstrip())
        message = _POSITION.sub("", str(exc)).replace("Syntax error in input : ", "").rstrip(" !")
        raise QueryError(f"query syntax: {message}", position) from exc
    node = _convert(parsed, None, 1.0)
    if matches_nothing_found(node) is not False:
        raise QueryError("the query would match an article that has none of its terms (add a positive term)", 0)
    return node


def _convert(node: tree.Item, field: str | None, weight: float) -> Node:
    if isinstance(node, tree.SearchField):
        if node.name not in FIELDS:
            raise QueryError(f"unknown field {node.name!r} (known: {', '.join(FIELDS)})", node.pos or 0)
        return _convert(node.expr, node.name, weight)
    if isinstance(node, tree.Group | tree.FieldGroup | tree.Plus):
        return _convert(node.children[0], field, weight)
    if isinstance(node, tree.Boost):
        return _convert(node.expr, field, float(node.force))
    if isinstance(node, tree.Not | tree.Prohibit):
        return Not(_convert(node.a, field, weight))
    if isinstance(node, tree.OrOperation):
        return Any(tuple(_convert(c, field, weight) for c in node.children))
    if isinstance(node, tree.AndOperation):
        return All(tuple(_convert(c, field, weight) for c in node.children))
    if isinstance(node, tree.UnknownOperation):
        return _implicit(node.children, field, weight)
    if isinstance(node, tree.Proximity):
        if not isinstance(node.term, tree.Phrase):
            raise QueryError("~n needs a phrase: \"word word\"~5", node.pos or 0)
        words = node.term.value.strip('"').split()
        terms = tuple(_term(w, node.term.pos or 0, field, weight) for w in words)
        return Near(terms, int(node.degree or 0)) if len(terms) > 1 else terms[0]
    if isinstance(node, tree.Phrase):
        return _term(node.value[1:-1], node.pos or 0, field, weight)
    if isinstance(node, tree.Word):
        if _NEAR_WORD.fullmatch(node.value):
            raise QueryError("NEAR/n needs a term on each side", node.pos or 0)
        return _term(node.value, node.pos or 0, field, weight)
    kind = type(node).__name__.lower()
    raise QueryError(f"{kind} is not supported in rule queries", node.pos or 0)


def _implicit(children, field: str | None, weight: float) -> Node:
    """Terms side by side mean AND; NEAR/n binds tighter than AND and OR.

    luqum reads `a OR troops NEAR/3 deploy*` as `(a OR troops) NEAR/3 deploy*`; the operand
    next to NEAR/n is taken out of a bare (unparenthesized) AND/OR so it reads
    `a OR (troops NEAR/3 deploy*)`, as analysts mean it.
    """
    parts: list[tuple[Node, tree.Item]] = []
    pending: int | None = None
    for child in children:
        near = isinstance(child, tree.Word) and _NEAR_WORD.fullmatch(child.value)
        if near:
            if not parts or pending is not None:
                raise QueryError("NEAR/n needs a term on each side", child.pos or 0)
            pending = int(near.group(1))
            continue
        if pending is None:
            parts.append((_convert(child, field, weight), child))
            continue
        left_node, left = parts.pop()
        left_rest, left_inner = _split(left_node, left, last=True)
        right_rest, right_inner = _split(_convert(child, field, weight), child, last=False)
        node: Node = Near(_near_parts(left_inner, left) + _near_parts(right_inner, child), pending)
        if right_rest is not None:
            node = type(right_rest)((node, *right_rest.parts))
        if left_rest is not None:
            node = type(left_rest)((*left_rest.parts, node))
        parts.append((node, child))
        pending = None
    if pending is not None:
        raise QueryError("NEAR/n needs a term on each side", children[-1].pos or 0)
    return parts[0][0] if len(parts) == 1 else All(tuple(node for node, _ in parts))


def _split(node: Node, item: tree.Item, last: bool) -> tuple[All | Any | None, Node]:
    """(the rest of a bare AND/OR, its operand next to NEAR), or (None, node)."""
    if isinstance(item, tree.OrOperation | tree.AndOperation) and isinstance(node, All | Any):
        inner = node.parts[-1] if last else node.parts[0]
        rest = node.parts[:-1] if last else node.parts[1:]
        return type(node)(rest), inner
    return None, node


def _near_parts(node: Node, where: tree.Item) -> tuple[Node, ...]:
    if isinstance(node, Term) or (isinstance(node, Any) and all(isinstance(p, Term) for p in node.parts)):
        return (node,)
    raise QueryError("NEAR/n joins terms, phrases or (a OR b) groups only", where.pos or 0)


def _term(value: str, position: int, field: str | None, weight: float) -> Term:
    text = value.strip()
    wild = [m.start() for m in _WILDCARDS.finditer(text)]
    for index in wild:
        end_of_word = index == len(text) - 1 or text[index + 1] == " "
        if text[index] == "?" or not end_of_word or index == 0 or text[index - 1] == " ":
            raise QueryError(f"{text!r}: only a trailing * after a word start is supported", position + index)
    if " " in text and wild and wild != [len(text) - 1]:
        raise QueryError(f"{text!r}: in a phrase only the last word may end in *", position)
    if not text.strip("@* "):
        raise QueryError("empty term", position)
    return Term(text, field, weight)


def terms_of(node: Node, positive: bool = True) -> list[Term]:
    """Every term of the query; with positive=True only those not under a NOT."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return [] if positive else terms_of(node.part, positive)
    return [t for part in node.parts for t in terms_of(part, positive)]


def matches_nothing_found(node: Node) -> bool:
    """What the query says of an article in which none of its terms was found."""
    if isinstance(node, Term | Near):
        return False
    if isinstance(node, Not):
        return not matches_nothing_found(node.part)
    results = [matches_nothing_found(p) for p in node.parts]
    return all(results) if isinstance(node, All) else any(results)


# How often a term is likely to occur, for choosing triggers (Lucene Monitor's default term
# weighting guesses by length too): a word of n letters costs WORD_COST_LETTERS / n, but never
# less than WORD_COST_MIN, because a long common word ("international", "administration") is
# still far more frequent than a named entity or a phrase (RARE_COST); without that floor a
# 13-letter keyword was chosen over @entity and made its rule a candidate in most articles.
RARE_COST = 0.5  # "@entity" or "a phrase"
WORD_COST_LETTERS = 12.0
WORD_COST_MIN = 1.0
NAME_FACTOR = 0.3  # written capitalized: a name, rarer than a word
PREFIX_FACTOR = 3.0  # "sanction*" stands for several words


def _term_cost(key: str) -> float:
    """How often a term is likely to occur: entities, phrases and names rarely, short words and
    prefixes often."""
    if key.startswith("@") or " " in key.strip():
        return RARE_COST
    cost = max(WORD_COST_LETTERS / max(len(key.rstrip("*")), 1), WORD_COST_MIN)
    return cost * (NAME_FACTOR if key[0].isupper() else 1.0) * (PREFIX_FACTOR if key.endswith("*") else 1.0)


def triggers(node: Node) -> frozenset[str] | None:
    """Terms one of which every article the query matches must mention, chosen to be rare.

    For AND (and NEAR) one operand's terms suffice, so the rarest operand is chosen: the
    percolator then evaluates a rule only where one of those terms was found. None when no
    such set exists (a NOT alone).
    """
    if isinstance(node, Term):
        return frozenset({node.key})
    if isinstance(node, Not):
        return None
    options = [triggers(part) for part in node.parts]
    if isinstance(node, Any):
        return None if any(o is None for o in options) else frozenset().union(*options)
    usable = [o for o in options if o is not None]
    return min(usable, key=lambda o: (sum(_term_cost(k) for k in o), sorted(o))) if usable else None
