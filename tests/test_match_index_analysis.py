"""The shortcuts the index's cold path takes must read exactly what the full analysis reads:
an item's set of stems without its scan, a title's possible verbs without title_words, and a
question's sure parts and index parts worked out together."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

from forecasts.derived_query import derive_query
from forecasts.event import _may_name_act, never_the_act, title_act_words
from forecasts.news_query import Not, node_stems
from forecasts.text import scan, title_words
from resolvers.analysis import question_spec, stem_set

SEEDS = Path(__file__).parents[1] / "seeds"
ALPHABET = "aB. ,;:!?'’-–—()[]{}\"“”|\tÉİß1²٣U.S.xq"


def _texts() -> list[tuple[str, str]]:
    archive = json.loads((SEEDS / "archive.json").read_text(encoding="utf-8"))["items"]
    texts = [(e["title"], e["summary"]) for e in archive]
    rng = random.Random(5)
    for _ in range(3000):
        texts.append(
            tuple(  # type: ignore[arg-type]
                "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40))) for _ in "ts"
            )
        )
    return texts


def test_an_items_stem_set_is_its_scans():
    for title, summary in _texts():
        assert stem_set(title, summary) == frozenset(scan(title, summary).stems), (title, summary)


def test_a_titles_act_words_are_those_title_words_gives():
    for title, summary in _texts():
        for text in (title, summary):
            raws, lemmas = title_words(text)
            expected = {
                lemma for raw, lemma in zip(raws, lemmas, strict=True) if _may_name_act(raw, lemma)
            }
            assert title_act_words(text) == expected, text


def test_sure_parts_and_index_parts_are_read_as_from_the_groups():
    questions = json.loads((SEEDS / "questions.json").read_text(encoding="utf-8"))
    for n, q in enumerate(questions):
        for query, derived in ((q["news_query"], False), (derive_query(q["title"]), True)):
            for index_first in (False, True):
                found = question_spec(
                    1000 * index_first + n,
                    query,
                    date(2016, 1, 1),
                    date(2030, 1, 1),
                    q["default_outcome"],
                    q["title"],
                    q.get("resolution_criteria", ""),
                    derived,
                )
                assert found is not None
                if index_first:
                    found.index_terms  # noqa: B018 - worked out before sure_parts
                groups = found.groups
                sure = never_the_act(found.title, [node_stems(g) for g in groups])
                expected = tuple(
                    g for g, ok in zip(groups, sure, strict=True) if ok and not isinstance(g, Not)
                )
                assert found.sure_parts == expected, query
                parts = [p.node for p in found.index_terms]
                if derived:
                    assert parts == [g for g in groups if not isinstance(g, Not)]
                else:
                    assert tuple(parts) == expected
