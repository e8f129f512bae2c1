"""General evidence rules: who acts and what happens, told from the question's own words
rather than from frames fitted to particular questions.

- the item's named doer must be the question's (a name the question never uses is someone
  else), another member of a named series ("GPT-4o" for "GPT-5") or another body of a
  shared name ("High Court" for "Supreme Court") is another thing;
- an actor that only says whose a name is ("SpaceX's Falcon Heavy", "US Supreme Court")
  qualifies the subject; long names are also known by their initials;
- a verb and its particle may hold the object ("knock England out");
- the act named as a noun that another verb acts on ("brings the shutdown forward") is not
  asserted; a win that was a step ("beat Senegal to reach the quarter-finals") is a step;
- a question's act is told by the frames' own words, and a title verb the query also uses
  is the act (WordNet's senses widen items' wording, never the question's act);
- the question's object with a negative prefix ("unlawful") is the opposite.

Every item reports a real, dated event in our own words; link hosts end in .invalid.
"""

from __future__ import annotations

from forecasts.actors import name_runs, other_entity, other_member
from forecasts.event import read_event
from forecasts.text import title_words
from resolvers.analysis import AnalysedItem, QuestionSpec
from resolvers.judging import judge
from tests.judging_cases import news, question


def kind(spec: QuestionSpec, item: AnalysedItem) -> str:
    verdict = judge(spec, item)
    return "none" if verdict is None else verdict.kind


def runs(text: str) -> list:  # type: ignore[type-arg]
    raws, stems = title_words(text)
    return name_runs(raws, stems, range(len(raws)))


# ---------------------------------------------------------------------------------------------
# Names


def test_series_members_are_told_apart() -> None:
    gpt5 = runs("OpenAI GPT-5")
    assert other_member(gpt5, runs("OpenAI releases GPT-4o")) == "GPT 4o"
    assert other_member(gpt5, runs("OpenAI releases GPT-5 to users")) == ""
    iphone = runs("Apple's iPhone X")
    assert other_member(iphone, runs("iPhone 8 goes on sale")) == "iPhone 8"
    # A year after a name is a date, not a member's mark.
    assert other_member(runs("Artemis II"), runs("Artemis 2024 budget")) == ""


def test_a_name_given_in_part_agrees_and_a_different_one_does_not() -> None:
    court = runs("Supreme Court")
    assert other_entity(court, runs("High Court rules")) == "High Court"
    assert other_entity(court, runs("Supreme Court rules")) == ""
    assert other_entity(runs("Jeff Bezos"), runs("Bezos flies")) == ""
    assert other_entity(runs("Serena Williams"), runs("Venus Williams wins")) == "Venus Williams"


def test_an_owner_qualifies_the_subject_and_initials_name_it() -> None:
    event = read_event("Will SpaceX's Falcon Heavy rocket make its first launch before 2018-07-01?")
    assert event is not None
    assert not event.actors  # SpaceX only says whose the rocket is
    assert [p.name for p in event.parties] == ["Falcon Heavy"]
    assert "spacex" in event.parties[0].stems
    court = read_event("Will the US Supreme Court overturn Roe v. Wade before 2023-01-01?")
    assert court is not None and not court.actors
    assert court.parties[0].name == "Supreme Court"
    uae = read_event("Will Israel and the United Arab Emirates sign an accord before 2021-01-01?")
    assert uae is not None and "uae" in uae.parties[0].stems


def test_a_title_verb_the_query_words_is_the_act() -> None:
    # "overturn" is among WordNet's synonyms of "overthrow", a ruler's removal: the
    # question's own verb, which its query repeats, is the act asked about.
    event = read_event(
        "Will the US Supreme Court overturn Roe v. Wade before 2023-01-01?",
        "",
        [["overturn", "overturns", "overrule", "strikes down"]],
    )
    assert event is not None and event.frame.name == "overturn"


# ---------------------------------------------------------------------------------------------
# Who acts


def test_another_named_doer_is_another_actor() -> None:
    spec = question(
        "Will Jeff Bezos fly to space on a Blue Origin rocket before 2021-08-01?",
        'Bezos (space OR "New Shepard") (fly OR flies OR flight)',
        "2021-06-07",
        "2021-07-31",
    )
    branson = news(
        "Richard Branson flies to the edge of space on Virgin Galactic",
        "The billionaire rode his company's rocket plane over New Mexico, nine days before "
        "the flight Bezos has planned.",
        "2021-07-11",
    )
    bezos = news(
        "Jeff Bezos flies to space and back on New Shepard",
        "Bezos and three others spent about ten minutes on a suborbital flight.",
        "2021-07-20",
    )
    assert kind(spec, branson) != "evidence"
    assert kind(spec, bezos) == "evidence"


def test_the_question_s_party_as_the_object_is_still_its_act() -> None:
    spec = question(
        "Will Donald Trump win the US presidential election before 2017-01-01?",
        "Trump (win OR wins OR elected OR victory) (president OR presidency OR election)",
        "2016-07-01",
        "2016-12-31",
    )
    item = news(
        "Electoral College formally elects Trump",
        "Electors gave him 304 votes, confirming his victory in the presidential election.",
        "2016-12-19",
    )
    assert kind(spec, item) == "evidence"


def test_another_court_and_the_opposite_ruling_are_not_evidence() -> None:
    spec = question(
        "Will the UK Supreme Court rule the government's Rwanda asylum plan lawful before "
        "2024-01-01?",
        '"Supreme Court" Rwanda (lawful OR legal OR "can go ahead")',
        "2022-06-01",
        "2023-12-31",
    )
    high = news(
        "High Court rules Rwanda asylum policy lawful",
        "Two judges found it lawful, before the case went to the Court of Appeal and the "
        "Supreme Court.",
        "2022-12-19",
    )
    unlawful = news(
        "Supreme Court rules Rwanda asylum plan unlawful",
        "The justices unanimously upheld the appeal court's decision.",
        "2023-11-15",
    )
    assert kind(spec, high) == "other-object"
    assert kind(spec, unlawful) == "none"  # the query's "lawful" is not in "unlawful"
    derived = question(spec.title, None, "2022-06-01", "2023-12-31")
    assert kind(derived, unlawful) == "against"


def test_another_member_of_the_series_is_not_the_event() -> None:
    spec = question(
        "Will OpenAI release GPT-5 before 2025-01-01?",
        'OpenAI "GPT-5" (release OR launch OR available)',
        "2024-01-01",
        "2024-12-31",
    )
    item = news(
        "OpenAI releases GPT-4o, a faster model that talks and sees",
        "The company says GPT-5 is not due this year.",
        "2024-05-13",
    )
    assert kind(spec, item) != "evidence"


# ---------------------------------------------------------------------------------------------
# What happens


def test_a_particle_verb_with_its_object_inside() -> None:
    spec = question(
        "Will England win the 2022 FIFA World Cup before 2022-12-19?",
        'England "World Cup" (win OR champion OR title OR trophy)',
        "2022-11-20",
        "2022-12-18",
    )
    out = news(
        "France knock England out of the World Cup",
        "Harry Kane missed a late penalty as the holders won the quarter-final 2-1.",
        "2022-12-10",
    )
    verdict = judge(spec, out)
    assert verdict is not None and verdict.kind == "against"
    assert "knock England out" in verdict.decided_by
    step = news(
        "England beat Senegal to reach the World Cup quarter-finals",
        "Goals from Henderson, Kane and Saka gave England a 3-0 win in the last 16.",
        "2022-12-04",
    )
    assert kind(spec, step) == "anticipated"


def test_the_act_named_as_a_thing_another_verb_acts_on() -> None:
    spec = question(
        "Will the European Parliament ratify the EU-China investment agreement before 2022-01-01?",
        '"European Parliament" China investment (ratify OR ratification OR approve)',
        "2020-12-30",
        "2021-12-31",
    )
    frozen = news(
        "European Parliament freezes ratification of the China investment deal",
        "MEPs voted to halt any consideration of the agreement while Chinese sanctions on "
        "them remain.",
        "2021-05-20",
    )
    verdict = judge(spec, frozen)
    assert verdict is not None and verdict.kind == "anticipated"
    assert "freezes" in verdict.decided_by
    resign = question(
        "Will Gotabaya Rajapaksa resign as president of Sri Lanka before 2023-01-01?",
        '("Gotabaya Rajapaksa" OR Rajapaksa) (resign OR resigns OR resignation)',
        "2022-04-01",
        "2022-12-31",
    )
    accepted = news(
        "Sri Lanka's speaker accepts Gotabaya Rajapaksa's resignation",
        "The president had emailed his letter from Singapore.",
        "2022-07-15",
    )
    assert kind(resign, accepted) == "evidence"


def test_derived_query_needs_what_the_act_is_done_to() -> None:
    spec = question(
        "Will the US FDA grant full approval to a COVID-19 vaccine before 2021-07-01?",
        None,
        "2021-01-01",
        "2021-06-30",
    )
    drug = news(
        "FDA approves the first new Alzheimer's drug in nearly two decades",
        "The agency granted accelerated approval to aducanumab.",
        "2021-06-07",
    )
    assert kind(spec, drug) == "none"
