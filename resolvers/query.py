"""The news_query language: tokenising and stemming, parsing into an AST, evaluating it on
analysed text, and deriving a starting query from a question's title.

Syntax (API.md): words and "quoted phrases" are ANDed; `OR` between two terms; parentheses
group; a leading `-` excludes. `OR` binds tighter than the implicit AND, so `a b OR c` means
`a AND (b OR c)`. Matching is case-insensitive, on word boundaries, with light stemming.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

from forecasts.errors import InvalidInput

# ---------------------------------------------------------------------------------------------
# Words and stems

# A word is a run of letters/digits, possibly with inner apostrophes (Iran's, didn't).
# Dotted acronyms (U.S., U.N.) become one word so they match "US" and do not end sentences.
_ACRONYM = re.compile(r"\b((?:[A-Za-z]\.){2,})")
_VOWELS = set("aeiouy")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light suffix-stripping stem: `withdraws`, `withdrawing` -> `withdraw`; `withdrawal`
    stays apart. Both queries and items go through it, so only consistency matters."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    elif w.endswith("'"):
        w = w[:-1]
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) >= 6 and _VOWELS & set(w[:-3]):
        return _undouble(w[:-3])
    if w.endswith("ied") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("ed") and len(w) >= 5 and _VOWELS & set(w[:-2]):
        return _undouble(w[:-2])
    # take/taking -> tak, agree/agreed -> agre: a final e goes only where no suffix went.
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    return w


def _undouble(w: str) -> str:
    # stepped -> stepp -> step, so it meets "step"; keep ll/ss/zz (called -> call).
    if len(w) >= 3 and w[-1] == w[-2] and w[-1] not in "lsz" and w[-1] not in _VOWELS:
        return w[:-1]
    return w


def words(text: str) -> list[str]:
    """The words of a text in order (dotted acronyms joined: U.S. -> US)."""
    return scan(text).raws


# Conjunctions that start a new clause inside a sentence.
CLAUSE_WORDS = frozenset({"but", "while", "whereas", "although", "though", "however"})


class Token(NamedTuple):
    """One word of an analysed text: its lowercase form, stem, clause number, whether it is in
    the title, and the word as written."""

    word: str
    stem: str
    clause: int
    in_title: bool
    raw: str = ""


_WORDS = re.compile(r"\w+(?:'\w+)*")
# Clauses end at punctuation (and spaced dashes); a negation's scope stops there.
_CLAUSE_STOP = re.compile(r"[.,;:!?()\[\]{}\"“”|]+|\s[-–—]+\s|—")
_ACRONYM_HINT = re.compile(r"\b[A-Za-z]\.[A-Za-z]\.")


@dataclass
class Scanned:
    """An item's words as parallel lists (cheaper than a Token each on the hot path)."""

    words: list[str]
    stems: list[str]
    clauses: list[int]
    raws: list[str]
    title_len: int


def scan(title: str, summary: str = "") -> Scanned:
    """Words of a title then a summary, with stems and clause numbers; the title is a clause
    of its own. Every item goes through here once, so the work is left to C where it can."""
    out = Scanned([], [], [], [], 0)
    words, stems, clauses, raws = out.words, out.stems, out.clauses, out.raws
    clause = 0
    for n, part in enumerate((title, summary)):
        if n == 1:
            out.title_len = len(words)
        part = part.replace("’", "'")
        if "." in part and _ACRONYM_HINT.search(part):
            part = _ACRONYM.sub(lambda m: m.group(1).replace(".", "") + " ", part)
        for piece in _CLAUSE_STOP.split(part):
            clause += 1
            found = _WORDS.findall(piece)
            if not found:
                continue
            lowered = [w.lower() for w in found]
            if CLAUSE_WORDS.isdisjoint(lowered):
                clauses.extend([clause] * len(lowered))
            else:
                for word in lowered:
                    if word in CLAUSE_WORDS:
                        clause += 1
                    clauses.append(clause)
            words.extend(lowered)
            raws.extend(found)
            stems.extend(map(stem, lowered))
    return out


def analyse(title: str, summary: str = "") -> list[Token]:
    """Tokens of an item's title then summary; the title is a clause of its own."""
    found = scan(title, summary)
    return [
        Token(w, s, c, i < found.title_len, r)
        for i, (w, s, c, r) in enumerate(
            zip(found.words, found.stems, found.clauses, found.raws, strict=True)
        )
    ]


# ---------------------------------------------------------------------------------------------
# The AST


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Not:
    child: Node

    def __str__(self) -> str:
        return f"-{_group(self.child)}"


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " ".join(_group(c) for c in self.children)


@dataclass(frozen=True)
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
        found: list[Term] = []
        _collect(self.root, found, negated=None)
        return frozenset(s for t in found for s in t.stems)

    def anchors(self, cost: Callable[[str], float] | None = None) -> frozenset[str]:
        """Stems of which any matching item must contain at least one (for an inverted index).

        Of an AND's parts the cheapest is chosen: by `cost` per stem when given (say, how
        many questions use the stem, a proxy for how common it is), else the fewest and
        longest stems.
        """
        result = _anchors(self.root, cost or _length_cost)
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


@dataclass(frozen=True)
class _Lexeme:
    kind: str
    text: str
    pos: int


def _fail(message: str) -> InvalidInput:
    return InvalidInput(f"news_query: {message}", field="news_query")


def _lex(text: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _LEX.match(text, pos)
        assert m is not None and m.lastgroup is not None  # every character is some lexeme
        kind, value = m.lastgroup, m.group(m.lastgroup)
        start = m.start(m.lastgroup) + 1  # 1-based for people
        if kind == "openquote":
            raise _fail(f"the quote at position {start} is never closed")
        if kind == "dangling":
            raise _fail(f"'-' at position {start} must be followed directly by a term")
        if kind == "word" and value.upper() == "OR":
            kind = "or"
        elif kind == "word" and value == "AND":
            kind = "and"
        out.append(_Lexeme(kind, value, start))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, lexemes: list[_Lexeme]) -> None:
        self.lexemes = lexemes
        self.i = 0

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
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        lexeme = self.take()
        if lexeme.kind == "lparen":
            inner = self.conj(top=False)
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise _fail(f"the '(' at position {lexeme.pos} is never closed")
            self.take()
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
    if _PLAIN_WORD.fullmatch(text):
        # Most terms are one plain word: no need for the whole scanner.
        return Term(text, (stem(text.lower()),))
    found = words(text)
    if not found:
        raise _fail(f"'{text}' at position {pos} has no letters or digits to match")
    return Term(text, tuple(stem(w) for w in found))


@lru_cache(maxsize=200_000)
def parse_query(text: str) -> Query:
    """Parse a news_query; raises InvalidInput(field="news_query") naming what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise _fail("the query is empty; give at least one word or quoted phrase")
    if len(text) > 1000:
        raise _fail("the query is longer than 1000 characters")
    root = _Parser(_lex(text)).parse()
    if not _has_anchor(root):
        raise _fail(
            "every alternative needs a term to look for; a query of excluded terms alone "
            "would match almost every item"
        )
    return Query(root, text)


# ---------------------------------------------------------------------------------------------
# Deriving a query from a title

_QUESTION_WORDS = {
    "will", "would", "is", "are", "was", "were", "does", "do", "did", "can", "could", "should",
    "has", "have", "had", "who", "what", "when", "where", "which", "why", "how", "whether", "may",
    "might", "shall",
}  # fmt: skip
_STOPWORDS = _QUESTION_WORDS | {
    "a", "an", "the", "of", "on", "in", "into", "by", "to", "and", "or", "nor", "before", "after",
    "be", "been", "being", "still", "its", "it", "their", "them", "they", "that", "this", "these",
    "those", "with", "for", "at", "there", "from", "any", "as", "than", "then", "his", "her",
    "he", "she", "we", "our", "you", "your", "not", "no", "yes", "ever", "least", "more", "most",
    "other", "over", "under", "about", "between", "within", "until", "end",
    "some", "such", "own", "same", "so", "very", "also", "each", "either", "all", "both",
    "again", "once", "only", "out", "up", "down", "off", "per", "via", "if", "but", "one",
    "new", "next", "first", "year", "years", "month", "months", "day", "days", "date", "time",
    "january", "february", "march", "april", "june", "july", "august", "september", "october",
    "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec", "here", "against", "during", "without", "through",
    "i", "me", "my", "us",
}  # fmt: skip
# Verbs that say little about which event it is.
_WEAK = {
    "announce", "announces", "happen", "happens", "occur", "occurs", "take", "takes", "make",
    "makes", "become", "becomes", "remain", "remains", "get", "gets", "reach", "reaches", "hold",
    "holds", "keep", "keeps", "say", "says", "go", "goes", "come", "comes", "see", "publicly",
    "officially", "formal", "formally", "drawn", "set", "sets", "put", "puts", "give", "gives",
}  # fmt: skip
# Names with the forms news uses for them: the country, its adjective, its capital's metonym.
_ALIASES: dict[str, tuple[str, ...]] = {
    "us": ("US", '"United States"', "American"),
    "usa": ("US", '"United States"', "American"),
    "united states": ("US", '"United States"', "American"),
    "america": ("US", '"United States"', "American"),
    "uk": ("UK", "Britain", "British"),
    "united kingdom": ("UK", "Britain", "British"),
    "britain": ("UK", "Britain", "British"),
    "eu": ("EU", '"European Union"'),
    "european union": ("EU", '"European Union"'),
    "un": ("UN", '"United Nations"'),
    "united nations": ("UN", '"United Nations"'),
    "nato": ("NATO",),
    "north korea": ('"North Korea"', '"North Korean"', "Pyongyang"),
    "south korea": ('"South Korea"', '"South Korean"', "Seoul"),
    "saudi arabia": ('"Saudi Arabia"', "Saudi"),
}
_ADJECTIVES = {
    "russia": "Russian", "iran": "Iranian", "syria": "Syrian", "china": "Chinese",
    "israel": "Israeli", "ukraine": "Ukrainian", "turkey": "Turkish", "iraq": "Iraqi",
    "egypt": "Egyptian", "india": "Indian", "pakistan": "Pakistani", "japan": "Japanese",
    "germany": "German", "france": "French", "italy": "Italian", "spain": "Spanish",
    "brazil": "Brazilian", "mexico": "Mexican", "canada": "Canadian", "poland": "Polish",
    "lebanon": "Lebanese", "jordan": "Jordanian", "afghanistan": "Afghan", "yemen": "Yemeni",
    "libya": "Libyan", "qatar": "Qatari", "taiwan": "Taiwanese", "venezuela": "Venezuelan",
    "cuba": "Cuban", "greece": "Greek", "belarus": "Belarusian", "armenia": "Armenian",
    "azerbaijan": "Azerbaijani", "georgia": "Georgian", "kurdistan": "Kurdish",
    "palestine": "Palestinian", "ethiopia": "Ethiopian", "nigeria": "Nigerian",
    "sudan": "Sudanese", "argentina": "Argentine", "australia": "Australian",
}  # fmt: skip
_COUNTRY_OF = {adjective.lower(): country.title() for country, adjective in _ADJECTIVES.items()}
# Words that make a run of capitalised words an institution or place rather than a person.
_INSTITUTION = {
    "bank", "reserve", "union", "nations", "states", "kingdom", "republic", "party", "council",
    "court", "heights", "sea", "strait", "ministry", "army", "force", "forces", "corps",
    "company", "group", "organisation", "organization", "agency", "fund", "assembly",
    "congress", "parliament", "senate", "house", "city", "island", "islands", "coast", "gulf",
    "front", "movement", "committee", "commission", "treaty", "summit", "league", "airlines",
    "university", "state", "guard", "guards", "east", "west", "north", "south", "central",
}  # fmt: skip
_EVENT_NOUNS = {
    "agreement", "deal", "treaty", "pact", "alliance", "ceasefire", "truce", "election",
    "referendum", "war", "invasion", "coup", "resignation", "impeachment", "sanctions",
    "withdrawal", "merger", "acquisition", "default", "recession", "summit", "peace", "strike",
    "attack", "annexation", "independence", "launch", "ban", "tariff", "tariffs", "clash",
}  # fmt: skip
_DATE_LIKE = re.compile(r"^\d{1,4}(?:[-/]\d{1,2}){0,2}$|^\d+(?:st|nd|rd|th)$", re.I)
_TITLE_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def _quote_if_needed(word: str) -> str:
    # Hyphenated or apostrophe words are phrases to the parser; quoting keeps them readable.
    return f'"{word}"' if len(words(word)) > 1 or word.upper() in ("OR", "AND") else word


def _name_group(run: list[str]) -> tuple[str, ...]:
    key = " ".join(w.lower() for w in run)
    if key in _ALIASES:
        return _ALIASES[key]
    if len(run) == 1:
        word = run[0]
        adjective = _ADJECTIVES.get(word.lower())
        if adjective:
            return (word, adjective)
        country = _COUNTRY_OF.get(word.lower())
        if country:
            return (country, word)
        if "-" in word and word.lower().startswith(("al-", "el-")):
            # al-Assad is mostly written Assad.
            return (word.split("-", 1)[1], _quote_if_needed(word))
        return (_quote_if_needed(word),)
    phrase = '"' + " ".join(run) + '"'
    last = run[-1]
    if len(run) <= 3 and not any(w.lower() in _INSTITUTION for w in run) and len(last) >= 3:
        # A person's name: news mostly uses the surname alone.
        return _name_group([last]) + (phrase,)
    return (phrase,)


def _content_rank(word: str) -> int:
    lower = word.strip('"').lower()
    rank = 0
    if lower in _EVENT_NOUNS:
        rank += 3
    if lower.endswith(("ment", "tion", "sion", "ship", "ance", "ence", "ity", "ty")):
        rank += 2
    if lower.endswith(("al", "ic", "ive", "ous", "ful", "less", "ly")):
        rank -= 1
    return rank


def _is_name(word: str) -> bool:
    if word[:1].isupper():
        return True
    head, _, rest = word.partition("-")
    return head.lower() in ("al", "el") and rest[:1].isupper()


def _name_groups(run: list[str]) -> list[tuple[str, ...]]:
    """Split a run of capitalised words at known names: "US Federal Reserve" is the US and
    "Federal Reserve"; "North Korea" stays one name."""
    groups: list[tuple[str, ...]] = []
    rest: list[str] = []
    j = 0
    while j < len(run):
        pair = " ".join(w.lower() for w in run[j : j + 2])
        known = None
        if j + 1 < len(run) and pair in _ALIASES:
            known, j = run[j : j + 2], j + 2
        elif run[j].lower() in _ALIASES or run[j].lower() in _ADJECTIVES:
            known, j = run[j : j + 1], j + 1
        else:
            rest.append(run[j])
            j += 1
            continue
        if rest:
            groups.append(_name_group(rest))
            rest = []
        groups.append(_name_group(known))
    if rest:
        groups.append(_name_group(rest))
    return groups


def _skippable(word: str) -> bool:
    lower = word.lower()
    return (
        lower in _STOPWORDS
        or lower in _WEAK
        or bool(_DATE_LIKE.match(word))
        or len(lower) < 3
        or not any(c.isalpha() for c in word)
    )


def derive_query(title: str) -> str:
    """A starting news_query from a title: its names (with their usual variants) and its most
    telling content words; alternatives the title offers ("X or Y") stay alternatives."""
    raw = [
        re.sub(r"['’]s?$", "", w)
        for w in _TITLE_WORD.findall(_ACRONYM.sub(lambda m: m.group(1).replace(".", ""), title))
    ]
    names: list[tuple[str, ...]] = []
    content: list[tuple[int, tuple[str, ...]]] = []  # (title position, group)
    seen: set[str] = set()
    last: list[Any] | None = None  # the list the previous group went to
    join_next = False
    i = 0
    while i < len(raw):
        word = raw[i]
        if word.lower() == "or":
            join_next = last is not None
            i += 1
            continue
        if _skippable(word) and not (word.isupper() and word.lower() in _ALIASES):
            join_next = False
            i += 1
            continue
        if _is_name(word):
            run = [word]
            while i + 1 < len(raw) and _is_name(raw[i + 1]) and not _skippable(raw[i + 1]):
                i += 1
                run.append(raw[i])
            target: list[Any] = names
            groups = _name_groups(run)
        else:
            target = content
            groups = [(_quote_if_needed(word.lower()),)]
        for group in groups:
            key = stem(words(group[0])[0]) if words(group[0]) else group[0]
            if key in seen:
                continue
            seen.add(key)
            if join_next and last is target and target:
                previous = target.pop()
                if target is content:
                    group = previous[1] + group
                    target.append((previous[0], group))
                else:
                    target.append(previous + group)
            elif target is content:
                content.append((i, group))
            else:
                names.append(group)
            join_next = False
        last = target
        i += 1
    names = names[:4]
    slots = max(1, 5 - len(names))
    best = sorted(content, key=lambda pc: -max(_content_rank(w) for w in pc[1]))[:slots]
    groups = names + [g for _, g in sorted(best, key=lambda pc: pc[0])]
    if not groups:
        fallback = [w for w in raw if any(c.isalnum() for c in w)]
        return " ".join(_quote_if_needed(w) for w in fallback[:4])
    return " ".join(g[0] if len(g) == 1 else "(" + " OR ".join(g) + ")" for g in groups)
