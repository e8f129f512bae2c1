"""Judging the event, not only the query: the act a question asks about, its polarity, its
actor, the steps short of it, the criteria's exclusions; lemmas and WordNet's synonyms;
derived queries that find paraphrases; calibrated confidence and reliability bins.

Every item is a real, dated event in our own words, with where to read about it; link hosts
end in .invalid.
"""

from __future__ import annotations

import pytest

from forecasts.calibration import resolver_reliability
from forecasts.derived_query import derive_query
from forecasts.event import read_event
from forecasts.lexicon import antonyms, source_note, synonyms
from forecasts.news_query import parse_query
from forecasts.text import inflections, stem
from resolvers.analysis import AnalysedItem, QuestionSpec
from resolvers.calibrate import SINGLE_SOURCE_CEILING, calibrated, suggestion_confidence
from resolvers.cues import find_cues
from resolvers.evidence import evidence_entry, rationale
from resolvers.judging import Judge, RuleJudge, Verdict, judge
from resolvers.match import MatchIndex
from tests.judging_cases import news, question


def kind(spec: QuestionSpec, item: AnalysedItem) -> str | None:
    verdict = judge(spec, item)
    if verdict is None:
        return None
    if verdict.kind == "evidence" and verdict.outcome != spec.event_outcome:
        return "contrary"
    return verdict.kind


# --- lemmas, shared by queries and items ---------------------------------------------------------


def test_queries_and_items_share_lemmas() -> None:
    assert stem("withdraws") == stem("withdrew") == stem("withdrawing") == "withdraw"
    assert stem("withdrawal") != "withdraw"  # API.md: withdrawal need not match
    assert stem("shot") == "shoot" and stem("Fed") == "fed"
    assert parse_query("withdraw").matches("Russia withdrew its jets")
    assert parse_query('"shoot down"').matches("Turkey shot down a Russian jet")


def test_cue_lists_cover_every_inflection() -> None:
    assert {"scrubs", "scrubbed", "scrubbing"} <= inflections("scrub")
    for text in (
        "NASA scrubs the launch",
        "NASA scrubbed the launch",
        "The launch was called off",
        "SpaceX calls off the launch",
        "Regulator postpones its decision",
        "Partners abandoned the merger",
    ):
        from forecasts.text import scan

        assert find_cues(scan(text)), text


def test_the_wordnet_table_is_shipped_with_its_licence() -> None:
    assert "retake" in synonyms("recapture", "v")
    assert {"disapprove", "reject"} <= antonyms("approve", "v")
    assert "Princeton University" in source_note() and "WordNet 3.0" in source_note()


# --- reading the question's event -----------------------------------------------------------------


def test_the_event_names_its_act_and_actor() -> None:
    event = read_event("Will the Bank of Japan raise its short-term policy interest rate?")
    assert event is not None and event.frame.name == "raise"
    assert [a.name for a in event.actors] == ["Bank of Japan"]
    status_quo = read_event(
        "Will Bashar al-Assad still be President of Syria on 2016-12-31?",
        query_groups=[["Assad"], ["resign", "step down"]],
    )
    assert status_quo is not None and status_quo.frame.name == "leave office"


# The Fed raised its target range by 0.25 points on 22 March 2023 and held it on 14 June 2023
# (FOMC statements of those days); the Bank of Japan raised its rate on 19 March 2024, its first
# rise in 17 years (BoJ statement, 19 March 2024).
FED = question(
    "Will the Federal Reserve raise interest rates before 2023-07-01?",
    '("Federal Reserve" OR Fed OR FOMC OR "central bank") (raise OR raises OR hike) rates',
    "2023-03-01",
    "2023-06-30",
    "Resolves YES if the FOMC raises the federal funds target range. Does not count: holds, "
    "projections, or rises by other central banks.",
)


def test_the_act_by_the_right_actor_is_evidence_and_says_why() -> None:
    item = news(
        "Fed raises rates by a quarter point despite bank turmoil",
        "The Federal Reserve lifted its target range to 4.75-5 per cent.",
        "2023-03-22T18:00:00",
    )
    verdict = judge(FED, item)
    assert verdict is not None and verdict.kind == "evidence"
    assert verdict.predicate == "raises" and verdict.polarity == "positive"
    assert verdict.actor == "Fed"
    entry = evidence_entry(item.item, verdict)
    assert "predicate 'raises'" in entry["decided_by"] and "actor 'Fed'" in entry["decided_by"]
    assert "Decided by predicate 'raises' (positive, firm); actor 'Fed'." in rationale([entry])


def test_the_opposite_act_is_evidence_against() -> None:
    item = news(
        "Fed holds rates steady for the first time in over a year",
        "Officials kept the range at 5-5.25 per cent.",
        "2023-06-14T18:00:00",
    )
    assert kind(FED, item) == "against"


def test_another_central_bank_does_not_satisfy_generic_terms() -> None:
    spec = question(
        "Will the Federal Reserve raise interest rates before 2024-06-01?",
        '("Federal Reserve" OR Fed OR "central bank") (raise OR raises OR hike) rates',
        "2024-01-01",
        "2024-05-31",
    )
    item = news(
        "Japan's central bank raises rates for the first time in 17 years",
        "The Bank of Japan raised its short-term rate to a range of zero to 0.1 per cent.",
        "2024-03-19T06:00:00",
    )
    assert kind(spec, item) in ("other-actor", "no-actor", None)


@pytest.mark.parametrize(
    "title",
    [
        "Fed expected to raise rates next week",
        "Fed to raise rates, sources say",
        "Fed pencils in one more rate hike",
    ],
)
def test_expectations_and_reports_are_not_the_event(title: str) -> None:
    assert kind(FED, news(title, "", "2023-05-01T12:00:00")) != "evidence"


# The US notified the UN of its withdrawal from the Paris Agreement on 4 November 2019; the
# withdrawal took effect a year later, on 4 November 2020 (UN depositary notification
# C.N.575.2019.TREATIES-XXVII.7.d).
PARIS = question(
    "Will the United States withdraw from the Paris Agreement before 2021-01-01?",
    '(US OR "United States" OR Washington) (withdraw OR withdrawal OR exit) "Paris Agreement"',
    "2019-06-01",
    "2020-12-31",
)


def test_a_formal_notice_of_withdrawal_is_a_step_not_the_withdrawal() -> None:
    notified = news(
        "US formally notifies the UN of its withdrawal from the Paris Agreement",
        "The exit takes effect one year after the notice.",
        "2019-11-04T20:00:00",
    )
    assert kind(PARIS, notified) == "anticipated"
    done = news(
        "US withdrawal from the Paris Agreement takes effect",
        "The United States is the first country to leave the accord.",
        "2020-11-04T12:00:00",
    )
    assert kind(PARIS, done) == "evidence"


def test_a_deal_called_off_is_evidence_for_the_default_outcome() -> None:
    # Adobe and Figma ended their merger agreement on 18 December 2023 (joint statement).
    spec = question(
        "Will Adobe complete its acquisition of Figma before 2024-06-30?",
        "Adobe Figma (acquisition OR deal) (complete OR completes OR closes)",
        "2022-09-15",
        "2024-06-30",
    )
    item = news(
        "Adobe and Figma abandon their $20bn deal over regulatory hurdles",
        "The companies terminated the merger agreement, citing EU and UK objections.",
        "2023-12-18T12:00:00",
    )
    assert kind(spec, item) == "contrary"


def test_a_scrubbed_launch_is_against_a_launch_is_for() -> None:
    # Starship's first flight test was scrubbed on 17 April 2023 (a frozen pressurisation
    # valve) and flew on 20 April 2023 (SpaceX flight test updates).
    spec = question(
        "Will SpaceX launch Starship before 2023-05-01?",
        "SpaceX Starship (launch OR launches OR liftoff)",
        "2023-01-01",
        "2023-04-30",
    )
    scrub = news("SpaceX scrubs Starship launch over a frozen valve", "", "2023-04-17T13:00:00")
    flight = news("SpaceX's Starship launches on its first flight test", "", "2023-04-20T13:33")
    assert kind(spec, scrub) in ("against", "negated")
    assert kind(spec, flight) == "evidence"


def test_the_criteria_exclusions_are_honoured() -> None:
    # Iran became a full member of BRICS on 1 January 2024 (South Africa's BRICS chair
    # statement of 1 January 2024); membership of a grouping is not the treaty asked about.
    spec = question(
        "Will Iran and Russia sign a strategic partnership treaty before 2026-01-01?",
        "(Iran OR Iranian) (Russia OR Russian) (sign OR signs OR joins OR member)",
        "2015-11-01",
        "2025-12-31",
        "Resolves YES if Iran and Russia sign such a treaty. Does not count: joint membership "
        "of multilateral groupings (SCO, BRICS).",
    )
    item = news("Iran joins BRICS, the grouping that includes Russia", "", "2024-01-01T12:00")
    assert kind(spec, item) == "excluded"


# --- derived queries find paraphrases -------------------------------------------------------------


def test_a_derived_query_offers_synonyms_a_person_can_edit() -> None:
    derived = derive_query("Will Turkey shoot down a Russian warplane before 2017-01-01?")
    assert '"shoot down"' in derived and "down" in derived and "jet" in derived
    parse_query(derived)  # a valid query, stored as the question's news_query


def test_a_derived_query_finds_a_paraphrase() -> None:
    # Turkish F-16s shot down a Russian Su-24 near the Syrian border on 24 November 2015
    # (Turkish General Staff and Russian defence ministry statements that day).
    spec = question(
        "Will Turkey shoot down a Russian military jet before 2017-01-01?",
        None,
        "2015-09-30",
        "2016-12-31",
    )
    assert spec.derived
    downs = news("Turkey downs a Russian warplane near the Syrian border", "", "2015-11-24T09:00")
    assert kind(spec, downs) == "evidence"
    protest = news("Turkey protests as a Russian jet strays into its airspace", "", "2015-10-05")
    assert kind(spec, protest) != "evidence"


def test_retake_stands_for_recapture() -> None:
    # Ukrainian forces entered Kherson on 11 November 2022 (Ukrainian defence ministry).
    spec = question("Will Ukraine recapture Kherson before 2023-01-01?", None, "2022-03-02",
                    "2022-12-31")  # fmt: skip
    item = news("Ukrainian troops retake Kherson as Russia pulls out", "", "2022-11-11T12:00")
    assert kind(spec, item) == "evidence"


# --- the judge is pluggable ----------------------------------------------------------------------


def test_another_judge_can_stand_in() -> None:
    class Never:
        def __call__(self, question: QuestionSpec, item: AnalysedItem) -> Verdict | None:
            return None

    never: Judge = Never()
    index = MatchIndex([FED], judge=never)
    item = news("Fed raises rates by a quarter point", "", "2023-03-22T18:00:00")
    assert index.match(item) == []
    assert [v.kind for v in MatchIndex([FED], judge=RuleJudge()).match(item)] == ["evidence"]


# --- confidence means what it says --------------------------------------------------------------


def test_calibrated_confidence_is_monotone_and_bounded() -> None:
    values = [calibrated(x / 20) for x in range(21)]
    assert values == sorted(values)
    assert all(0.0 < v < 1.0 for v in values)


def test_one_source_alone_stays_below_the_ceiling() -> None:
    entries = [
        {"title": f"Fed raises rates, report {n}", "source": "wire", "score": 0.8}
        for n in range(10)
    ]
    assert suggestion_confidence(entries) <= SINGLE_SOURCE_CEILING
    two = [*entries, {"title": "Federal Reserve lifts its target range", "source": "tv",
                      "score": 0.8}]  # fmt: skip
    assert suggestion_confidence(two) >= suggestion_confidence(entries)


def test_reliability_bins_of_reviewed_suggestions() -> None:
    reviewed = [(0.85, True), (0.82, True), (0.81, False), (0.86, True), (0.3, False)]
    bins = resolver_reliability(reviewed, bins=5)
    assert [(b.bin_low, b.n) for b in bins] == [(0.2, 1), (0.8, 4)]
    top = bins[1]
    assert top.observed_rate == 0.75 and top.ci_low < 0.75 < top.ci_high
    assert resolver_reliability([]) == []


# --- the index reads the event only where it matters ---------------------------------------------


def test_the_index_files_a_question_by_its_parts_that_never_word_the_act() -> None:
    # The act's words ("raise OR raises OR hike"; a frame's, or the title's verb) are left
    # out of the topic, so the index files the question by the rest without reading its
    # event; news of the opposite act still reaches the judge through it.
    assert [str(p) for p in FED.sure_parts] == [
        '"Federal Reserve" OR Fed OR FOMC OR "central bank"'
    ]
    cut = news("Fed cuts rates by half a point", "", "2023-03-22T18:00:00")
    assert [v.kind for v in MatchIndex([FED]).match(cut)] == ["against"]
    # A lowercase word of the title may be its verb ("minutes"): a part holding one is not
    # sure; names are.
    minutes = question("Will the Fed publish minutes?", "Fed minutes", "2023-03-01", "2023-06-30")
    assert [str(p) for p in minutes.sure_parts] == ["Fed"]
    book = question("Will the Fed publish its Beige Book?", 'Fed "Beige Book"', "2023-03-01",
                    "2023-06-30")  # fmt: skip
    assert [str(p) for p in book.sure_parts] == ["Fed", '"Beige Book"']
