"""The news_query language: syntax, errors, matching rules and derived queries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts import news_query
from forecasts.derived_query import derive_query
from forecasts.errors import InvalidInput
from forecasts.news_query import And, Not, Or, Term, parse_query

SEEDS = Path(__file__).parents[1] / "seeds"


def test_words_are_anded_and_or_binds_tighter():
    root = parse_query("Russia troops OR soldiers").root
    assert isinstance(root, And)
    first, second = root.children
    assert first == Term("Russia", ("russia",))
    assert isinstance(second, Or)
    assert [str(t) for t in second.children] == ["troops", "soldiers"]


def test_parentheses_phrases_and_exclusion():
    query = parse_query('("United States" OR Washington) -rumour -(poll OR survey)')
    assert isinstance(query.root, And)
    assert isinstance(query.root.children[1], Not)
    assert query.matches("United States and Russia sign a deal")
    assert query.matches("Washington says so")
    assert not query.matches("United States rumour mill")
    assert not query.matches("Washington: a survey says")
    assert not query.matches("The states are united")  # a phrase needs its words in order


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("(Russia Iran", "never closed"),
        ("Russia Iran)", "unexpected ')'"),
        ('"United States', "never closed"),
        ("OR Russia", "needs a term before"),
        ("Russia OR", "needs a term after"),
        ("Russia OR OR Iran", "needs a term after"),
        ("Russia (OR Iran)", "needs a term before"),
        ("Russia ()", "empty parentheses"),
        ('Russia ""', "empty quotes"),
        ("Russia - Iran", "must be followed"),
        ("-Russia", "term to look for"),
        ("-Russia OR Iran", "term to look for"),
        ("!!! ???", "no letters or digits"),
    ],
)
def test_syntax_errors_name_the_problem(text: str, needle: str):
    with pytest.raises(InvalidInput) as caught:
        parse_query(text)
    assert caught.value.field == "news_query"
    assert needle in caught.value.detail


def test_error_gives_the_position():
    with pytest.raises(InvalidInput) as caught:
        parse_query("Russia (Iran OR Syria")
    assert "position 8" in caught.value.detail


def test_case_insensitive_on_word_boundaries():
    query = parse_query("iran")
    assert query.matches("IRAN and Russia")
    assert query.matches("Iran's defence minister")
    assert not query.matches("Iranian forces")  # a different word
    assert not query.matches("Tehran and Moscow")
    assert parse_query("war").matches("War ends") and not parse_query("war").matches("Warsaw")


def test_simple_stemming():
    query = parse_query("withdraw")
    assert query.matches("Russia withdraws its troops")
    assert query.matches("Russia is withdrawing")
    assert not query.matches("a withdrawal was announced")
    assert parse_query("sign treaty").matches("They signed two treaties")
    assert parse_query('"step down"').matches("Assad stepped down")


def test_hyphens_and_acronyms():
    assert parse_query('"Iran-backed"').matches("Iran-backed militias pulled back")
    assert parse_query("Iran").matches("Iran-backed militias")
    assert parse_query("US").matches("The U.S. and Russia agreed")
    assert parse_query("Russia–Iran").matches("a Russia–Iran treaty")


def test_smart_quotes_and_lowercase_or():
    query = parse_query("“Golan Heights” or Quneitra")
    assert query.matches("Near the Golan Heights")
    assert query.matches("In Quneitra")


def test_round_trip_text_form_parses_to_the_same_tree():
    query = parse_query('a b OR c -(d OR "e f")')
    assert str(query.root) == 'a (b OR c) -(d OR "e f")'
    assert parse_query(str(query.root)).root == query.root


@pytest.mark.parametrize(
    ("title", "expected_parts", "absent"),
    [
        (
            "Will the US and Russia announce an agreement on Syria that restricts Iran, "
            "before 2018-01-01?",
            ['(US OR "United States" OR American)', "(Russia OR Russian)", "(Iran OR Iranian)"],
            ["Will", "2018", "before", "the "],
        ),
        (
            "Will Iran and Russia sign a formal strategic partnership or alliance treaty?",
            ["(partnership OR alliance)", "treaty"],
            ["Will", "formal"],
        ),
        (
            "Will Bashar al-Assad still be President of Syria on 2016-12-31?",
            ["Assad", "(Syria OR Syrian)"],
            ["still", "2016"],
        ),
        (
            # "U.S." only says whose the Federal Reserve is: the bank's aliases stand for it.
            "Will the U.S. Federal Reserve cut interest rates by June 2026?",
            ['("Federal Reserve" OR Fed OR FOMC)', "(cut OR lower OR reduce", "rates"],
            ["June", "Will", '(US OR "United States" OR American)'],
        ),
    ],
)
def test_derived_query_keeps_key_terms(title: str, expected_parts: list[str], absent: list[str]):
    derived = derive_query(title)
    for part in expected_parts:
        assert part in derived
    for word in absent:
        assert word not in derived
    parse_query(derived)


def test_derived_queries_of_the_seed_titles_parse_and_find_their_decisive_items():
    questions = json.loads((SEEDS / "questions.json").read_text(encoding="utf-8"))
    for q in questions:
        parse_query(derive_query(q["title"]))
        parse_query(q["news_query"])
    # Claim 8's derived query finds the treaty signing.
    treaty = derive_query(questions[7]["title"])
    assert parse_query(treaty).matches(
        "Putin and Pezeshkian sign a Russia–Iran comprehensive strategic partnership treaty"
    )


@given(st.text(min_size=10, max_size=200))
def test_any_derived_query_parses(title: str):
    derived = derive_query(title)
    if derived:
        parse_query(derived)
    else:
        # Only a title without a single letter or digit yields nothing.
        assert not any(c.isalnum() for c in title)


@settings(max_examples=500)
@given(st.text(max_size=60, alphabet=st.sampled_from(list("ab \"“”()-ORANDor'’."))))
def test_any_text_parses_or_gets_a_clear_error(text: str):
    try:
        query = parse_query(text)
    except InvalidInput as error:
        assert error.field == "news_query" and error.detail.startswith("news_query: ")
    else:
        # What parsed prints back as a query that parses to the same tree.
        assert parse_query(str(query.root)).root == query.root


@settings(max_examples=500)
@given(
    st.lists(
        st.sampled_from(["Fed", "rates", "hike", '"interest rates"', "OR", "or", "(", ")",
                         "-cut", "AND", '"', "U.S.", "al-Assad", "'s", "“central bank”"]),
        min_size=1,
        max_size=9,
    )
)  # fmt: skip
def test_common_queries_read_fast_give_the_same_tree_or_error(tokens: list[str]):
    # The cycle parses every open question's query; the common shapes take a faster path,
    # which must agree with the general parser on every tree and every refusal.
    text = " ".join(tokens)
    try:
        general = news_query._Parser(news_query._lex(text)).parse()
    except InvalidInput:
        general = None
    fast = news_query._parse_simple(text)
    assert fast is None or fast == general
    try:
        assert parse_query(text).root == general
    except InvalidInput:
        # Refused by the parser, or (an exclusion alone) after it.
        assert general is None or fast is None
