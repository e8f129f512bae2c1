"""The news_query language: parsing into an AST and evaluating it on analysed text (pure).

Syntax (API.md): words and "quoted phrases" are ANDed; `OR` between two terms; parentheses
group; a leading `-` excludes; parentheses and `-` nest at most MAX_NESTING levels deep.
`OR` binds tighter than the implicit AND, so `a b OR c` means `a AND (b OR c)`. Matching is
case-insensitive, on word boundaries, with the stems of forecasts.text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

from forecasts.errors import InvalidInput
from forecasts.text import analyse, stem, words

# ---------------------------------------------------------------------------------------------
# The AST (its nodes have slots: a cycle holds every open question's tree, and fewer objects
# make less work for the garbage collector)


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase: the stems must occur consecutively."""

    text: str
    stems: tuple[str, ...]

    def __str__(self) -> str:
        bare = (
            len(self.stems) == 1
            and not any(c.isspace() or c in '()"“”' for c in self.text)
            and not self.text.startswith("-")
            and self.text.upper() not in ("OR", "AND")
        )
        return self.text if bare else f'"{self.text}"'


@dataclass(frozen=True, slots=True)
class Not:
    child: Node

    def __str__(self) -> str:
        return f"-{_group(self.child)}"


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " ".join(_group(c) for c in self.children)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " OR ".join(_group(c) for c in self.children)


Node = Term | Not | And | Or


def _group(node: Node) -> str:
    return f"({node})" if isinstance(node, And | Or) else str(node)


@dataclass(frozen=True)
class Query:
    """A parsed news_query."""

    root: Node
    text: str

    def positive_terms(self) -> list[Term]:
        """The terms an item is looked for by (not the excluded ones), in query order."""
        found: list[Term] = []
        _collect(self.root, found, negated=False)
        return found

    def stems(self) -> frozenset[str]:
        """Every stem the query mentions, excluded ones included."""
        return self._stems

    @cached_property
    def _stems(self) -> frozenset[str]:
        return node_stems(self.root)

    def anchors(self, cost: Callable[[str], float] | None = None) -> frozenset[str]:
        """Stems of which any matching item must contain at least one (for an inverted index).

        Of an AND's parts the cheapest is chosen: by `cost` per stem when given (say, how
        many questions use the stem, a proxy for how common it is), else the fewest and
        longest stems.
        """
        result = node_anchors(self.root, cost)
        assert result is not None  # parse_query refuses queries without anchors
        return result

    def matches(self, title: str, summary: str = "") -> bool:
        """Whether the text satisfies the query as written (no negation or hedging rules:
        resolvers.match adds those)."""
        tokens = analyse(title, summary)
        stems = [t.stem for t in tokens]
        where: dict[str, list[int]] = {}
        for i, s in enumerate(stems):
            where.setdefault(s, []).append(i)

        def has(term: Term) -> bool:
            n = len(term.stems)
            return any(tuple(stems[p : p + n]) == term.stems for p in where.get(term.stems[0], ()))

        return self.evaluate(has)

    @cached_property
    def prefilter(self) -> Callable[[AbstractSet[str]], bool]:
        """A fast check on a text's set of stems: False means the query cannot hold (phrase
        order aside, it is exact for queries without phrases)."""
        return _compile(self.root)

    def evaluate(
        self, has: Callable[[Term], bool], has_excluded: Callable[[Term], bool] | None = None
    ) -> bool:
        """Whether the query holds, `has(term)` saying whether a term occurs; excluded terms
        are looked up with `has_excluded` (default `has`), so a mention that is itself
        negated can still exclude an item."""
        return _evaluate(self.root, has, has_excluded or has)


def node_stems(node: Node) -> frozenset[str]:
    """Every stem a part of a query mentions, excluded ones included."""
    if isinstance(node, Term):
        return frozenset(node.stems)
    if isinstance(node, Not):
        return node_stems(node.child)
    if isinstance(node, Or) and all(isinstance(c, Term) for c in node.children):
        return frozenset(s for c in node.children for s in c.stems)  # type: ignore[union-attr]
    return frozenset().union(*map(node_stems, node.children))


def and_parts(node: Node) -> tuple[Node, ...]:
    """A query's top-level AND parts (the query itself when it is not an AND)."""
    return node.children if isinstance(node, And) else (node,)


def alternatives(node: Node) -> tuple[tuple[str, ...], ...] | None:
    """The stems of each alternative of a term or an OR of terms: an item the node holds on
    carries every stem of one of them. None for other shapes (nested ANDs, exclusions)."""
    if isinstance(node, Term):
        return (node.stems,)
    if isinstance(node, Or) and all(isinstance(c, Term) for c in node.children):
        return tuple(c.stems for c in node.children)  # type: ignore[union-attr]
    return None


def prefilter_of(parts: tuple[Node, ...]) -> Callable[[AbstractSet[str]], bool]:
    """Query.prefilter of the AND of these parts, without a Query."""
    return _compile(parts[0] if len(parts) == 1 else And(parts))


def _collect(node: Node, out: list[Term], *, negated: bool | None) -> None:
    if isinstance(node, Term):
        if negated is None or not negated:
            out.append(node)
    elif isinstance(node, Not):
        if negated is None:
            _collect(node.child, out, negated=None)
    else:
        for child in node.children:
            _collect(child, out, negated=negated)


def node_anchors(node: Node, cost: Callable[[str], float] | None = None) -> frozenset[str] | None:
    """Query.anchors of a part of a query; None when it can hold with no positive term
    present (an exclusion)."""
    return _anchors(node, cost or _length_cost)


def _length_cost(stem_: str) -> float:
    return 1.0 / (1 + len(stem_))


def _anchors(node: Node, cost: Callable[[str], float]) -> frozenset[str] | None:
    """None when the node can hold with no positive term present (an exclusion)."""
    if isinstance(node, Term):
        # Every stem of a phrase must be there; the cheapest will do.
        return frozenset([min(node.stems, key=lambda s: (cost(s), s))])
    if isinstance(node, Not):
        return None
    if isinstance(node, Or):
        union: set[str] = set()
        for child in node.children:
            sub = _anchors(child, cost)
            if sub is None:
                return None
            union |= sub
        return frozenset(union)
    # And: any one child's anchors will do; take the cheapest set.
    options = [sub for child in node.children if (sub := _anchors(child, cost)) is not None]
    if not options:
        return None
    return min(options, key=lambda s: (sum(cost(x) for x in s), sorted(s)))


def _compile(node: Node) -> Callable[[AbstractSet[str]], bool]:
    # The common shape, an AND of words and OR-groups of words, as set operations.
    parts = node.children if isinstance(node, And) else (node,)
    required: set[str] = set()
    groups: list[frozenset[str]] = []
    for part in parts:
        if isinstance(part, Term) and len(part.stems) == 1:
            required.add(part.stems[0])
        elif isinstance(part, Or) and all(
            isinstance(c, Term) and len(c.stems) == 1 for c in part.children
        ):
            groups.append(frozenset(c.stems[0] for c in part.children))  # type: ignore[union-attr]
        else:
            return _compile_tree(node)
    needed = frozenset(required)
    return lambda have: needed <= have and all(not g.isdisjoint(have) for g in groups)


def _compile_tree(node: Node) -> Callable[[AbstractSet[str]], bool]:
    if isinstance(node, Term):
        if len(node.stems) == 1:
            only = node.stems[0]
            return lambda have: only in have
        needed = frozenset(node.stems)
        return lambda have: needed <= have
    if isinstance(node, Not):
        child = node.child
        if isinstance(child, Term) and len(child.stems) == 1:
            excluded = child.stems[0]
            return lambda have: excluded not in have
        # A phrase or group may be present word by word yet not as written: no verdict.
        return lambda have: True
    parts = [_compile_tree(c) for c in node.children]
    if isinstance(node, And):
        return lambda have: all(part(have) for part in parts)
    return lambda have: any(part(have) for part in parts)


def _has_anchor(node: Node) -> bool:
    """Whether every way for the node to hold needs some positive term."""
    if isinstance(node, Term):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, Or):
        return all(_has_anchor(c) for c in node.children)
    return any(_has_anchor(c) for c in node.children)


def _evaluate(
    node: Node, has: Callable[[Term], bool], has_excluded: Callable[[Term], bool]
) -> bool:
    if isinstance(node, Term):
        return has(node)
    if isinstance(node, Not):
        return not _evaluate(node.child, has_excluded, has_excluded)
    if isinstance(node, And):
        return all(_evaluate(c, has, has_excluded) for c in node.children)
    return any(_evaluate(c, has, has_excluded) for c in node.children)


# ---------------------------------------------------------------------------------------------
# Parsing: a small recursive-descent parser
#   query    := conj EOF
#   conj     := disj+                      (implicit AND)
#   disj     := unary ("OR" unary)*
#   unary    := "-" unary | primary
#   primary  := WORD | PHRASE | "(" conj ")"

_LEX = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) |
        (?P<phrase>["“”][^"“”]*["“”]) | (?P<openquote>["“”]) |
        (?P<minus>-(?=[^\s]))  | (?P<dangling>-) |
        (?P<word>[^\s()"“”]+)
    )""",
    re.VERBOSE,
)


class _Lexeme(NamedTuple):
    kind: str
    text: str
    pos: int


def _fail(message: str) -> InvalidInput:
    return InvalidInput(f"news_query: {message}", field="news_query")


def _lex(text: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    pos = 0
    # Past the last non-blank character only whitespace is left (nothing to lex).
    end = len(text.rstrip())
    match = _LEX.match
    while pos < end:
        m = match(text, pos)
        assert m is not None and m.lastgroup is not None  # every character is some lexeme
        kind = m.lastgroup
        value = m.group(kind)
        start = m.start(kind) + 1  # 1-based for people
        if kind == "word":
            if value.upper() == "OR":
                kind = "or"
            elif value == "AND":
                kind = "and"
        elif kind == "openquote":
            raise _fail(f"the quote at position {start} is never closed")
        elif kind == "dangling":
            raise _fail(f"'-' at position {start} must be followed directly by a term")
        out.append(_Lexeme(kind, value, start))
        pos = m.end()
    return out


# Parentheses and '-' signs open a level each; deeper nesting is refused before the parser's
# recursion (and every recursive walk of the tree after it) could exhaust the stack.
MAX_NESTING = 32


class _Parser:
    def __init__(self, lexemes: list[_Lexeme]) -> None:
        self.lexemes = lexemes
        self.i = 0
        self.depth = 0

    def nest(self, lexeme: _Lexeme) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _fail(
                f"'{lexeme.text}' at position {lexeme.pos} nests deeper than {MAX_NESTING} "
                "levels of parentheses and '-' signs"
            )

    def peek(self) -> _Lexeme | None:
        return self.lexemes[self.i] if self.i < len(self.lexemes) else None

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.i]
        self.i += 1
        return lexeme

    def parse(self) -> Node:
        node = self.conj(top=True)
        extra = self.peek()
        if extra is not None:
            raise _fail(f"unexpected ')' at position {extra.pos} (no '(' opens it)")
        return node

    def conj(self, *, top: bool) -> Node:
        parts: list[Node] = []
        while True:
            nxt = self.peek()
            if nxt is None or nxt.kind == "rparen":
                break
            if nxt.kind == "and":
                self.take()
                if not parts:
                    raise _fail(f"AND at position {nxt.pos} needs a term before it")
                after = self.peek()
                if after is None or after.kind in ("rparen", "or", "and"):
                    raise _fail(f"AND at position {nxt.pos} needs a term after it")
                continue
            parts.append(self.disj())
        if not parts:
            if top:
                raise _fail("the query is empty; give at least one word or quoted phrase")
            raise _fail("empty parentheses")
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def disj(self) -> Node:
        first = self.peek()
        if first is not None and first.kind == "or":
            raise _fail(f"OR at position {first.pos} needs a term before it")
        options = [self.unary()]
        while (nxt := self.peek()) is not None and nxt.kind == "or":
            self.take()
            after = self.peek()
            if after is None or after.kind in ("rparen", "or", "and"):
                raise _fail(f"OR at position {nxt.pos} needs a term after it")
            options.append(self.unary())
        return options[0] if len(options) == 1 else Or(tuple(options))

    def unary(self) -> Node:
        lexeme = self.peek()
        if lexeme is not None and lexeme.kind == "minus":
            self.take()
            if self.peek() is None:
                raise _fail(f"'-' at position {lexeme.pos} must be followed by a term")
            self.nest(lexeme)
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        lexeme = self.take()
        if lexeme.kind == "lparen":
            self.nest(lexeme)
            inner = self.conj(top=False)
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise _fail(f"the '(' at position {lexeme.pos} is never closed")
            self.take()
            self.depth -= 1
            return inner
        if lexeme.kind == "phrase":
            body = lexeme.text[1:-1].strip()
            if not body:
                raise _fail(f'empty quotes "" at position {lexeme.pos}')
            return _term(body, lexeme.pos)
        if lexeme.kind == "word":
            return _term(lexeme.text, lexeme.pos)
        # rparen, or, and at a place where a term must start.
        raise _fail(f"expected a term at position {lexeme.pos}, found '{lexeme.text}'")


_PLAIN_WORD = re.compile(r"\w+")


def _term(text: str, pos: int) -> Term:
    found = _term_of(text)
    if found is None:
        raise _fail(f"'{text}' at position {pos} has no letters or digits to match")
    return found


@lru_cache(maxsize=200_000)
def _term_of(text: str) -> Term | None:
    # Queries share most of their words: each term is analysed once (Terms are immutable).
    if _PLAIN_WORD.fullmatch(text):
        # Most terms are one plain word: no need for the whole scanner.
        return Term(text, (stem(text.lower()),))
    found = words(text)
    if not found:
        return None
    return Term(text, tuple(stem(w) for w in found))


# The common shape of a query, read without the general parser: words and quoted phrases,
# OR between them, and parentheses (not nested) holding an OR of words or phrases.
_SIMPLE_TOKEN = re.compile(r'[()]|["“”][^"“”]*["“”]|[^\s()"“”]+|\S')
_QUOTES = '"“”'


def _simple_atom(token: str) -> Term | None:
    if token[0] in _QUOTES:
        body = token[1:-1].strip() if len(token) > 1 else ""
        return _term_of(body) if body else None
    if token in ("(", ")") or token[0] == "-" or token.upper() == "OR" or token == "AND":
        return None
    return _term_of(token)


def _parse_simple(text: str) -> Node | None:
    """The tree the parser builds for a query of the common shape (the cycle parses every
    open question's query); None for any other, which the parser then reads or refuses."""
    tokens = _SIMPLE_TOKEN.findall(text)
    groups: list[list[Node]] = []
    i, n = 0, len(tokens)
    joined = False  # the last part was followed by OR
    while i < n:
        node: Node | None
        if tokens[i] == "(":
            options: list[Node] = []
            i += 1
            while True:
                atom = _simple_atom(tokens[i]) if i < n else None
                if atom is None:
                    return None
                options.append(atom)
                i += 1
                if i < n and tokens[i] == ")":
                    i += 1
                    break
                if i < n and tokens[i].upper() == "OR":
                    i += 1
                    continue
                return None
            node = options[0] if len(options) == 1 else Or(tuple(options))
        else:
            node = _simple_atom(tokens[i])
            if node is None:
                return None
            i += 1
        if joined:
            groups[-1].append(node)
        else:
            groups.append([node])
        joined = i < n and tokens[i].upper() == "OR"
        if joined:
            i += 1
            if i >= n:
                return None
    if not groups:
        return None
    parts = [g[0] if len(g) == 1 else Or(tuple(g)) for g in groups]
    return parts[0] if len(parts) == 1 else And(tuple(parts))


@lru_cache(maxsize=200_000)
def parse_query(text: str) -> Query:
    """Parse a news_query; raises InvalidInput(field="news_query") naming what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise _fail("the query is empty; give at least one word or quoted phrase")
    if len(text) > 1000:
        raise _fail("the query is longer than 1000 characters")
    root = _parse_simple(text) or _Parser(_lex(text)).parse()
    if not _has_anchor(root):
        raise _fail(
            "every alternative needs a term to look for; a query of excluded terms alone "
            "would match almost every item"
        )
    return Query(root, text)
