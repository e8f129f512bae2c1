"""From news items to evidence: candidate questions through an inverted index, evidence
scoring with negation and hedging, and recording evidence as suggestions.

Each item is tokenised once. Each open question contributes its anchor stems (stems of which
any matching item must contain one) to an inverted index, so an item is evaluated only
against the questions that share such a stem with it, never against every question.

Negation and hedging follow NegEx's idea of cue words with a scope, the scope ending at the
clause (punctuation, "but", "while"): a negation covers its whole clause ("did not withdraw",
"talks end without agreement", "rejects", "denies", "fails to"); a hedge covers the rest of its
clause after it ("plans to withdraw", "could", "calls for"). An item is evidence for the event
only if the query holds on the words outside every such scope; if it holds only with hedged
words it merely anticipates the event, and neither counts. A cue that is itself one of the
question's query terms (a question about Iran *rejecting* something) is not a cue for that
question.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from forecasts.derived_query import derive_query
from forecasts.errors import InvalidInput
from forecasts.news_query import Query, Term, parse_query
from forecasts.tables import links_t, news_t, questions_t, suggestions_t
from forecasts.text import Scanned, scan, stem
from resolvers.items import chunks

NEWS_RESOLVER = "news-match"
FIRM, HEDGED, NEGATED = 0, 1, 2
# An item whose title alone satisfies the query is about the event; one that needs its
# summary may mention the event in passing.
TITLE_SCORE = 0.7
BODY_SCORE = 0.5
# Some matched terms also occur negated or hedged in the same item: mixed signals.
MIXED_FACTOR = 0.6
# A second item from the same source adds less than one from an independent source.
SAME_SOURCE_WEIGHT = 0.5
MAX_CONFIDENCE = 0.95
SNIPPET_CHARS = 280

# ---------------------------------------------------------------------------------------------
# Cues


def _stems(*words: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words)


_NEGATION_WORDS = frozenset(
    {"no", "not", "never", "nothing", "none", "neither", "nor", "without", "cannot", "nobody"}
)
_NEGATION_CLAUSE = _stems(
    "deny", "denies", "denied", "reject", "rejects", "rejected", "refuse", "refuses", "refused",
    "refute", "refuted", "dismiss", "dismissed", "fail", "fails", "failed", "failure", "suspend",
    "suspended", "postpone", "postponed", "collapse", "collapsed", "scrap", "scrapped",
    "abandon", "abandoned", "cancel", "cancelled", "canceled", "unable", "unfounded", "false",
    "untrue", "stalled", "stall",
)  # fmt: skip
_HEDGE_WORDS = frozenset(
    {"could", "would", "should", "might", "will", "if", "whether", "unless", "shall", "may"}
)
_HEDGE_STEMS = _stems(
    "plan", "plans", "planned", "planning", "expect", "expects", "expected", "propose",
    "proposes", "proposed", "proposal", "consider", "considers", "considering", "seek", "seeks",
    "sought", "hope", "hopes", "hoped", "intend", "intends", "intention", "pledge", "pledged",
    "promise", "promised", "urge", "urges", "urged", "threaten", "threatens", "threatened",
    "prepare", "prepares", "preparing", "negotiate", "negotiating", "negotiations", "discuss",
    "discusses", "discussed", "draft", "possible", "possibly", "likely", "unlikely", "potential",
    "prospect", "prospects", "want", "wants", "demand", "demands", "demanded", "offer",
    "offers", "offered", "aim", "aims", "rumour", "rumours", "rumor", "rumors", "speculation",
)  # fmt: skip
# Two-word cues: (first, second) -> kind.
_PAIRS: dict[tuple[str, str], int] = {
    ("rather", "than"): NEGATED,
    ("instead", "of"): NEGATED,
    ("far", "from"): NEGATED,
    ("ruled", "out"): NEGATED,
    ("rules", "out"): NEGATED,
    ("rule", "out"): NEGATED,
    ("called", "off"): NEGATED,
    ("fell", "through"): NEGATED,
    ("call", "for"): HEDGED,
    ("calls", "for"): HEDGED,
    ("called", "for"): HEDGED,
    ("calling", "for"): HEDGED,
    ("set", "to"): HEDGED,
    ("ready", "to"): HEDGED,
    ("poised", "to"): HEDGED,
    ("about", "to"): HEDGED,
    ("going", "to"): HEDGED,
}


@dataclass(frozen=True)
class Cue:
    start: int  # token index of the cue's first word
    end: int  # one past its last word
    kind: int  # HEDGED or NEGATED
    whole_clause: bool
    key: str  # the stem a question's own query may contain to switch the cue off


def find_cues(text: Scanned) -> list[Cue]:
    """The negation and hedging cues of a scanned text."""
    cues: list[Cue] = []
    words, stems, clauses = text.words, text.stems, text.clauses
    last = len(words) - 1
    for i, word in enumerate(words):
        s = stems[i]
        pair = _PAIRS.get((word, words[i + 1])) if i < last else None
        if pair is not None and clauses[i + 1] == clauses[i]:
            cues.append(Cue(i, i + 2, pair, pair == NEGATED, s))
        elif word in _NEGATION_WORDS or word.endswith("n't"):
            cues.append(Cue(i, i + 1, NEGATED, True, s))
        elif s in _NEGATION_CLAUSE:
            cues.append(Cue(i, i + 1, NEGATED, True, s))
        elif word in _HEDGE_WORDS:
            # "May" with a capital is mostly the month.
            if word == "may" and text.raws[i] != "may":
                continue
            cues.append(Cue(i, i + 1, HEDGED, False, s))
        elif s in _HEDGE_STEMS:
            cues.append(Cue(i, i + 1, HEDGED, False, s))
    return cues


# ---------------------------------------------------------------------------------------------
# Items and questions as the matcher sees them


@dataclass(frozen=True)
class MatchItem:
    """A news item to match: `key` is its dedup key, `link` its URL as the source gave it."""

    key: str
    title: str
    summary: str
    link: str
    published_at: datetime
    source: str

    @property
    def day(self) -> date:
        return self.published_at.astimezone(UTC).date()


class AnalysedItem:
    """An item scanned once; its word positions and cues are worked out only if some
    question's query is evaluated on it."""

    def __init__(self, item: MatchItem) -> None:
        self.item = item
        self.text = scan(item.title, item.summary)
        self.stems = self.text.stems
        self.stem_set = frozenset(self.stems)
        self._states: dict[frozenset[str], list[int]] = {}

    @cached_property
    def positions(self) -> dict[str, list[int]]:
        where: dict[str, list[int]] = {}
        for i, s in enumerate(self.stems):
            where.setdefault(s, []).append(i)
        return where

    @cached_property
    def cues(self) -> list[Cue]:
        return find_cues(self.text)

    @cached_property
    def cue_keys(self) -> frozenset[str]:
        return frozenset(c.key for c in self.cues)

    def states(self, ignore: frozenset[str]) -> list[int]:
        """FIRM / HEDGED / NEGATED per word, leaving out cues whose key is in `ignore`."""
        cached = self._states.get(ignore)
        if cached is not None:
            return cached
        clauses = self.text.clauses
        states = [FIRM] * len(clauses)
        clause_start: dict[int, int] = {}
        clause_end: dict[int, int] = {}
        for i, clause in enumerate(clauses):
            clause_start.setdefault(clause, i)
            clause_end[clause] = i + 1
        # A clause whose own verb is one of the question's cue-like terms ("Iran *rejects*
        # Russia's call for ...") reports that act: hedges after it are what is rejected,
        # not doubt about the act, so they are switched off.
        reporting = {clauses[c.start]: c.start for c in self.cues if c.key in ignore}
        for cue in self.cues:
            if cue.key in ignore:
                continue
            clause = clauses[cue.start]
            if cue.kind == HEDGED and reporting.get(clause, len(clauses)) < cue.start:
                continue
            first = clause_start[clause] if cue.whole_clause else cue.end
            for j in range(first, clause_end[clause]):
                if states[j] < cue.kind:
                    states[j] = cue.kind
        self._states[ignore] = states
        return states

    def has_outside(self, term: Term, states: list[int], min_state: int) -> bool:
        """Whether the term occurs with some word above `min_state` (negated or hedged)."""
        stems = self.stems
        n = len(term.stems)
        for p in self.positions.get(term.stems[0], ()):
            if tuple(stems[p : p + n]) == term.stems and any(
                states[p + k] > min_state for k in range(n)
            ):
                return True
        return False

    def has(self, term: Term, states: list[int] | None, max_state: int, title_only: bool) -> bool:
        """Whether the term occurs with every word at most `max_state` (None: any state)."""
        stems = self.stems
        n = len(term.stems)
        limit = self.text.title_len if title_only else len(stems)
        for p in self.positions.get(term.stems[0], ()):
            if p + n > limit:
                continue
            if n > 1 and tuple(stems[p : p + n]) != term.stems:
                continue
            if states is None or all(states[p + k] <= max_state for k in range(n)):
                return True
        return False


@dataclass(frozen=True)
class QuestionSpec:
    """An open question as the matcher needs it."""

    id: int
    query: Query
    opened_on: date
    resolve_by: date
    default_outcome: str = "no"
    title: str = ""

    @property
    def event_outcome(self) -> str:
        """What news of the event suggests: the opposite of the default outcome."""
        return "yes" if self.default_outcome == "no" else "no"


def question_spec(
    question_id: int,
    news_query: str,
    opened_on: date,
    resolve_by: date,
    default_outcome: str,
    title: str,
) -> QuestionSpec | None:
    """A spec from stored fields; None when neither the query nor the title gives a usable one."""
    try:
        query = parse_query(news_query)
    except InvalidInput:
        # Only a stored query that cannot be used falls back to one derived from the title.
        try:
            query = parse_query(derive_query(title))
        except InvalidInput:
            return None
    return QuestionSpec(question_id, query, opened_on, resolve_by, default_outcome, title)


# ---------------------------------------------------------------------------------------------
# Matching


@dataclass(frozen=True)
class Verdict:
    """How one item bears on one question."""

    question_id: int
    outcome: str
    kind: str  # "evidence" | "anticipated" | "negated"
    score: float
    terms: tuple[str, ...]
    in_title: bool
    mixed: bool


class MatchIndex:
    """Open questions indexed by their anchor stems.

    Each question is filed under the stems of the cheapest part of its query that any match
    must contain. "Cheap" is how often a stem occurs in the news: the share of `sample`
    texts (sets of stems, e.g. the first batch of items to match) that contain it, with how
    many questions use the stem as a tie-breaker (and the only guide without a sample).
    """

    def __init__(
        self, questions: Iterable[QuestionSpec], sample: Iterable[AbstractSet[str]] = ()
    ) -> None:
        self.questions: list[QuestionSpec] = list(questions)
        self.postings: dict[str, list[int]] = defaultdict(list)
        usage: dict[str, int] = defaultdict(int)
        for q in self.questions:
            for s in q.query.stems():
                usage[s] += 1
        seen: dict[str, int] = defaultdict(int)
        texts = 0
        for stems in sample:
            texts += 1
            for s in stems:
                seen[s] += 1
        scale = max(1, len(self.questions))

        def cost(s: str) -> float:
            share = seen[s] / texts if texts else 0.0
            return share + usage[s] / scale / 1000 + 1e-9 / (1 + len(s))

        for n, q in enumerate(self.questions):
            for anchor in q.query.anchors(cost):
                self.postings[anchor].append(n)
        # Per question, what the hot loop needs, in one tuple.
        self._fast = [(q.opened_on, q.resolve_by, q.query.prefilter) for q in self.questions]
        # How many (item, question) query evaluations ran: tests check the index avoids them.
        self.evaluations = 0

    def candidates(self, item: AnalysedItem) -> set[int]:
        found: set[int] = set()
        postings = self.postings
        for s in item.stem_set:
            hit = postings.get(s)
            if hit:
                found.update(hit)
        return found

    def match(self, item: MatchItem | AnalysedItem) -> list[Verdict]:
        """Verdicts for the questions the item bears on (in-window, open), best first."""
        analysed = item if isinstance(item, AnalysedItem) else AnalysedItem(item)
        day = analysed.item.day
        have = analysed.stem_set
        fast = self._fast
        verdicts = []
        for n in self.candidates(analysed):
            opened_on, resolve_by, prefilter = fast[n]
            if not (opened_on <= day <= resolve_by):
                continue
            self.evaluations += 1
            if not prefilter(have):
                continue
            verdict = judge(self.questions[n], analysed)
            if verdict is not None:
                verdicts.append(verdict)
        verdicts.sort(key=lambda v: (-v.score, v.question_id))
        return verdicts


def judge(question: QuestionSpec, item: AnalysedItem) -> Verdict | None:
    """Whether the item matches the question's query, and as firm, anticipated or negated news."""
    query = question.query
    if not query.prefilter(item.stem_set):
        return None

    def anywhere(term: Term) -> bool:
        return item.has(term, None, NEGATED, False)

    if not query.evaluate(anywhere):
        return None
    ignore = query.stems() & item.cue_keys
    states = item.states(frozenset(ignore))

    def view(max_state: int, title_only: bool = False) -> Any:
        return lambda term: item.has(term, states, max_state, title_only)

    terms = query.positive_terms()
    outcome = question.event_outcome
    if query.evaluate(view(FIRM), anywhere):
        firm_terms = [t for t in terms if item.has(t, states, FIRM, False)]
        in_title = query.evaluate(view(FIRM, True), anywhere)
        # Mixed: the item also mentions the event inside negated or hedged scopes
        # ("signed a deal ... the other deal was not signed").
        mixed = query.evaluate(lambda term: item.has_outside(term, states, FIRM), anywhere)
        score = (TITLE_SCORE if in_title else BODY_SCORE) * (MIXED_FACTOR if mixed else 1.0)
        return Verdict(
            question.id,
            outcome,
            "evidence",
            round(score, 3),
            tuple(dict.fromkeys(t.text for t in firm_terms)),
            in_title,
            mixed,
        )
    kind = "anticipated" if query.evaluate(view(HEDGED), anywhere) else "negated"
    return Verdict(question.id, outcome, kind, 0.0, (), False, False)


# ---------------------------------------------------------------------------------------------
# Evidence, confidence and rationale


def iso_z(instant: datetime) -> str:
    """An instant as ISO 8601 in UTC with a Z."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def snippet(item: MatchItem) -> str:
    text = " ".join((item.summary or item.title).split())
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text[:SNIPPET_CHARS].rsplit(" ", 1)[0]
    return cut + "…"


def evidence_entry(item: MatchItem, verdict: Verdict) -> dict[str, Any]:
    """One evidence entry as API.md shows it, plus the item's score and matched terms."""
    return {
        "title": item.title,
        "url": item.link,
        "published_at": iso_z(item.published_at),
        "source": item.source,
        "snippet": snippet(item),
        "score": verdict.score,
        "terms": list(verdict.terms),
        "mixed": verdict.mixed,
    }


def combine(evidence: Sequence[dict[str, Any]]) -> float:
    """Confidence from item scores: 1 − Π(1 − s_i·w_i), w_i halved for a source already counted,
    capped below 1 so that no amount of news is certainty."""
    remaining = 1.0
    seen: set[str] = set()
    for entry in sorted(evidence, key=lambda e: -float(e.get("score", 0.0))):
        weight = SAME_SOURCE_WEIGHT if entry.get("source") in seen else 1.0
        seen.add(str(entry.get("source")))
        remaining *= 1.0 - float(entry.get("score", 0.0)) * weight
    return round(min(MAX_CONFIDENCE, 1.0 - remaining), 3)


def rationale(evidence: Sequence[dict[str, Any]]) -> str:
    """A ten-second summary: how many items, which terms, the strongest one, any negation."""
    n = len(evidence)
    sources = {e.get("source") for e in evidence}
    terms = list(dict.fromkeys(t for e in evidence for t in e.get("terms", [])))
    shown = ", ".join(terms[:8]) + (", …" if len(terms) > 8 else "")
    strongest = max(evidence, key=lambda e: (float(e.get("score", 0.0)), -_order(e)))
    text = (
        f"{n} item{'s' if n != 1 else ''} from {len(sources)} "
        f"source{'s' if len(sources) != 1 else ''} match the query ({shown}); "
        f"strongest: '{strongest.get('title', '')}' "
        f"({str(strongest.get('published_at', ''))[:10]}, {strongest.get('source', '')})."
    )
    mixed = sum(1 for e in evidence if e.get("mixed"))
    if mixed:
        text += (
            f" In {mixed} of them some matched words are also negated or hedged,"
            " which lowers the confidence."
        )
    else:
        text += " No negation or hedging found around the matched terms."
    return text


def _order(entry: dict[str, Any]) -> float:
    try:
        return datetime.fromisoformat(str(entry["published_at"]).replace("Z", "+00:00")).timestamp()
    except (KeyError, ValueError):
        return 0.0


# ---------------------------------------------------------------------------------------------
# Recording: suggestions and evidence links


@dataclass
class Hit:
    """Firm evidence of one item for one question, ready to record."""

    question_id: int
    outcome: str
    item_key: str
    score: float
    entry: dict[str, Any] = field(default_factory=dict)


def insert_ignoring_conflict(
    conn: Connection,
    table: Any,
    rows: list[dict[str, Any]],
    *,
    index_elements: list[str],
    index_where: Any = None,
    returning: Any = None,
) -> list[Any]:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; the returned rows (if asked)."""
    if not rows:
        return []
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).on_conflict_do_nothing(
        index_elements=index_elements, index_where=index_where
    )
    if returning is not None:
        stmt = stmt.returning(*returning)
    # Rows as parameters, not baked into VALUES: the statement compiles once and is cached,
    # and SQLAlchemy still sends many rows per round trip ("insertmanyvalues").
    result = conn.execute(stmt, rows[0] if len(rows) == 1 else rows)
    return list(result.all()) if returning is not None else []


def _new_pending(
    conn: Connection, question_id: int, outcome: str, *, resolver: str, now: datetime
) -> int | None:
    """Insert an empty pending suggestion; None if one exists already (a racing cycle's)."""
    inserted = insert_ignoring_conflict(
        conn,
        suggestions_t,
        [
            {
                "question_id": question_id,
                "outcome": outcome,
                "confidence": 0.0,
                "resolver": resolver,
                "rationale": "",
                "evidence": [],
                "status": "pending",
                "created_at": now,
                "updated_at": now,
            }
        ],
        index_elements=["question_id", "outcome"],
        index_where=suggestions_t.c.status == "pending",
        returning=[suggestions_t.c.id],
    )
    return int(inserted[0].id) if inserted else None


def _pending_query(question_id: int, outcome: str) -> Any:
    return (
        select(suggestions_t)
        .where(
            suggestions_t.c.question_id == question_id,
            suggestions_t.c.outcome == outcome,
            suggestions_t.c.status == "pending",
        )
        .with_for_update()
    )


def pending_suggestion(
    conn: Connection, question_id: int, outcome: str, *, resolver: str, now: datetime
) -> tuple[Any, bool]:
    """The question's pending suggestion for `outcome`, created empty if there is none.

    The partial unique index lets only one exist; a racing cycle's row is picked up instead
    of raising a second. Returns (row, created).
    """
    row = conn.execute(_pending_query(question_id, outcome)).first()
    if row is not None:
        return row, False
    created = _new_pending(conn, question_id, outcome, resolver=resolver, now=now)
    row = conn.execute(_pending_query(question_id, outcome)).first()
    assert row is not None
    return row, created is not None


@dataclass
class _Pending:
    id: int
    evidence: list[dict[str, Any]]


def record_hits(conn: Connection, hits: Sequence[Hit], *, now: datetime) -> int:
    """Record firm evidence: join each question's pending suggestion for the outcome or raise
    one, linking every item so it never counts twice. Returns suggestions created.

    Statements are batched: one read of the links and pending suggestions per 500
    questions, one insert of links per 500 items, then one write per suggestion touched.
    """
    by_pair: dict[tuple[int, str], list[Hit]] = defaultdict(list)
    for hit in hits:
        by_pair[(hit.question_id, hit.outcome)].append(hit)
    if not by_pair:
        return 0
    keys = {h.item_key for h in hits}
    still_open: set[int] = set()
    known: set[tuple[int, str, str]] = set()
    for part in chunks(sorted({q for q, _ in by_pair}), 500):
        still_open.update(
            r.id
            for r in conn.execute(
                select(questions_t.c.id).where(
                    questions_t.c.id.in_(part), questions_t.c.status == "open"
                )
            )
        )
        for key_part in chunks(sorted(keys), 500):
            known.update(
                (r.question_id, r.outcome, r.item_key)
                for r in conn.execute(
                    select(links_t.c.question_id, links_t.c.outcome, links_t.c.item_key).where(
                        links_t.c.question_id.in_(part), links_t.c.item_key.in_(key_part)
                    )
                )
            )
    work: dict[tuple[int, str], dict[str, Hit]] = {}
    for (question_id, outcome), group in sorted(by_pair.items()):
        if question_id not in still_open:
            continue
        fresh: dict[str, Hit] = {}
        for hit in group:
            if (question_id, outcome, hit.item_key) not in known:
                fresh.setdefault(hit.item_key, hit)
        if fresh:
            work[(question_id, outcome)] = fresh
    if not work:
        return 0
    rows: dict[tuple[int, str], Any] = {}
    for part in chunks(sorted({q for q, _ in work}), 500):
        for r in conn.execute(
            select(
                suggestions_t.c.id,
                suggestions_t.c.question_id,
                suggestions_t.c.outcome,
                suggestions_t.c.evidence,
            )
            .where(suggestions_t.c.question_id.in_(part), suggestions_t.c.status == "pending")
            .with_for_update()
        ):
            if (r.question_id, r.outcome) in work:
                rows[(r.question_id, r.outcome)] = r
    created_ids: set[int] = set()
    for pair in work:
        if pair in rows:
            continue
        new_id = _new_pending(conn, *pair, resolver=NEWS_RESOLVER, now=now)
        if new_id is None:
            # A racing cycle raised it since the read above: join that one.
            rows[pair] = conn.execute(_pending_query(*pair)).one()
        else:
            rows[pair] = _Pending(new_id, [])
            created_ids.add(new_id)
    link_rows = [
        {
            "suggestion_id": rows[pair].id,
            "question_id": pair[0],
            "outcome": pair[1],
            "item_key": key,
            "score": hit.score,
            "created_at": now,
        }
        for pair, fresh in work.items()
        for key, hit in fresh.items()
    ]
    linked: set[tuple[int, str, str]] = set()
    for part in chunks(link_rows, 500):
        linked.update(
            (r.question_id, r.outcome, r.item_key)
            for r in insert_ignoring_conflict(
                conn,
                links_t,
                part,
                index_elements=["question_id", "outcome", "item_key"],
                returning=[links_t.c.question_id, links_t.c.outcome, links_t.c.item_key],
            )
        )
    created = 0
    for pair, fresh in work.items():
        row = rows[pair]
        # Only items whose link this transaction wrote count: a racing cycle's are its own.
        new_entries = [hit.entry for key, hit in fresh.items() if (*pair, key) in linked]
        if not new_entries:
            if row.id in created_ids:
                conn.execute(delete(suggestions_t).where(suggestions_t.c.id == row.id))
            continue
        evidence = sorted(list(row.evidence or []) + new_entries, key=_order)
        conn.execute(
            update(suggestions_t)
            .where(suggestions_t.c.id == row.id)
            .values(
                evidence=evidence,
                confidence=combine(evidence),
                rationale=rationale(evidence),
                updated_at=now,
            )
        )
        created += row.id in created_ids
    return created


# ---------------------------------------------------------------------------------------------
# Loading from the database


def load_open_questions(conn: Connection, *, match_pending: bool = False) -> list[QuestionSpec]:
    """Every open question with a usable query (only those whose stored news is still to be
    matched, with `match_pending`)."""
    where = [questions_t.c.status == "open"]
    if match_pending:
        where.append(questions_t.c.match_pending.is_(True))
    rows = conn.execute(
        select(
            questions_t.c.id,
            questions_t.c.news_query,
            questions_t.c.opened_on,
            questions_t.c.resolve_by,
            questions_t.c.default_outcome,
            questions_t.c.title,
        ).where(*where)
    )
    specs = []
    for r in rows:
        spec = question_spec(
            r.id, r.news_query, r.opened_on, r.resolve_by, r.default_outcome, r.title
        )
        if spec is not None:
            specs.append(spec)
    return specs


def item_from_row(row: Any) -> MatchItem:
    published = row.published_at
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return MatchItem(
        key=row.dedup_key,
        title=row.title or "",
        summary=row.summary or "",
        link=row.link or "",
        published_at=published,
        source=row.source_name or "",
    )


def unmatched_batch(conn: Connection, after_id: int, limit: int) -> list[Any]:
    """The next unmatched items by id."""
    return list(
        conn.execute(
            select(
                news_t.c.id,
                news_t.c.dedup_key,
                news_t.c.title,
                news_t.c.summary,
                news_t.c.link,
                news_t.c.published_at,
                news_t.c.source_name,
            )
            .where(news_t.c.matched.is_(False), news_t.c.id > after_id)
            .order_by(news_t.c.id)
            .limit(limit)
        ).all()
    )


def matched_batch(
    conn: Connection,
    after_id: int,
    limit: int,
    start: datetime,
    end: datetime,
    *,
    before_id: int | None = None,
) -> list[Any]:
    """The next already matched items by id, published in [start, end) (and below
    `before_id`, if given)."""
    below = [] if before_id is None else [news_t.c.id < before_id]
    return list(
        conn.execute(
            select(
                news_t.c.id,
                news_t.c.dedup_key,
                news_t.c.title,
                news_t.c.summary,
                news_t.c.link,
                news_t.c.published_at,
                news_t.c.source_name,
            )
            .where(
                news_t.c.matched.is_(True),
                news_t.c.id > after_id,
                news_t.c.published_at >= start,
                news_t.c.published_at < end,
                *below,
            )
            .order_by(news_t.c.id)
            .limit(limit)
        )
    )


def mark_matched(conn: Connection, item_ids: Sequence[int]) -> None:
    for part in chunks(list(item_ids), 500):
        conn.execute(update(news_t).where(news_t.c.id.in_(part)).values(matched=True))


def hits_for(index: MatchIndex, items: Iterable[MatchItem | AnalysedItem]) -> list[Hit]:
    """Firm evidence of these items for the index's questions."""
    hits = []
    for entry in items:
        analysed = entry if isinstance(entry, AnalysedItem) else AnalysedItem(entry)
        item = analysed.item
        for verdict in index.match(analysed):
            if verdict.kind == "evidence":
                hits.append(
                    Hit(
                        verdict.question_id,
                        verdict.outcome,
                        item.key,
                        verdict.score,
                        evidence_entry(item, verdict),
                    )
                )
    return hits
