"""Paraphrases found and look-alikes refused, by general rules rather than word lists:

- names: a lowercase particle is part of a name ("Lula da Silva"); a demonym before a common
  noun ("a European spacecraft") only says where the doer is from; a frame word inside a
  name ("Paris Agreement") is no act; every name of a coordinated subject does the act;
- words: a noun's relational adjectives (WordNet: "sexual", "criminal", "lunar") stand for
  it in derived queries; "re-elected" is elected; an article may stand inside a phrase
  ("become a member"); a noun after a determiner is no verb ("a computer program");
- senses: "release" a product is not "release" from prison; a verb no frame lists takes
  WordNet's synonyms of its chosen sense ("strikes" a comet is "hits" it);
- acts that are not asserted: the act as the purpose of a noun ("pressure to quit") unless
  ranked ("the first country to land"); a gerund naming a thing ("a signing ceremony"); the
  act as the second object of a verb ("notifies the UN of its withdrawal");
- a frame's steps named beside the act ("acquitted on other charges") do not exclude it;
- another thing of a shared name after the act ("Australian Open" for "French Open").

Every item reports a real, dated event in our own words; link hosts end in .invalid.
"""

from __future__ import annotations

from forecasts.derived_query import derive_query
from forecasts.event import read_event
from resolvers.analysis import AnalysedItem, QuestionSpec
from resolvers.judging import judge
from tests.judging_cases import news, question


def kind(spec: QuestionSpec, item: AnalysedItem) -> str:
    verdict = judge(spec, item)
    if verdict is None:
        return "none"
    return verdict.kind if verdict.outcome == "yes" or verdict.kind != "evidence" else "no"


def test_a_name_with_a_particle_is_one_name() -> None:
    spec = question(
        "Will Luiz Inácio Lula da Silva be released from prison before 2020-01-01?",
        None,
        "2019-01-01",
        "2019-12-31",
    )
    walks = news(
        "Lula walks out of jail after 580 days",
        "The former president left the police building in Curitiba after a court ruling.",
        "2019-11-08",
    )
    assert kind(spec, walks) == "evidence"


def test_relational_adjectives_stand_for_their_nouns() -> None:
    query = derive_query("Will Harvey Weinstein be convicted of a sex crime before 2021-01-01?")
    assert "sexual" in query and "criminal" in query
    assert "lunar" in derive_query("Will Japan land a spacecraft on the Moon before 2024-07-01?")


def test_a_step_named_beside_the_act_does_not_exclude_it() -> None:
    spec = question(
        "Will Harvey Weinstein be convicted of a sex crime before 2021-01-01?",
        None,
        "2018-05-25",
        "2020-12-31",
        "Resolves YES if a jury finds Weinstein guilty of a sexual offence. Does not count: "
        "charges, arrests, or acquittals.",
    )
    verdict = news(
        "Weinstein found guilty of rape and sexual assault",
        "A New York jury convicted him of a criminal sexual act but acquitted him of the most "
        "serious charges.",
        "2020-02-24",
    )
    assert kind(spec, verdict) == "evidence"


def test_releasing_a_product_is_not_releasing_a_prisoner() -> None:
    product = read_event("Will Apple release a Mac running on its own chip before 2021-01-01?")
    prisoner = read_event("Will Lula be released from prison before 2020-01-01?")
    assert product is not None and product.frame.name == "go on sale"
    assert prisoner is not None and prisoner.frame.name == "release"
    assert "free" not in derive_query("Will Apple release its AirPower mat before 2019-07-01?")


def test_the_act_as_a_purpose_is_not_asserted() -> None:
    spec = question(
        "Will Robert Mugabe leave office before 2018-01-01?",
        "Mugabe (resign OR resigns OR quit OR quits)",
        "2017-11-01",
        "2017-12-31",
    )
    defies = news(
        "Mugabe defies pressure to quit in a televised address",
        "The president spoke for twenty minutes without mentioning his future.",
        "2017-11-19",
    )
    assert kind(spec, defies) != "evidence"
    moon = question(
        "Will India land a spacecraft on the Moon before 2024-01-01?",
        "India (land OR lands OR landing) Moon",
        "2023-07-01",
        "2023-12-31",
    )
    first = news(
        "India becomes the first country to land near the Moon's south pole",
        "The Chandrayaan-3 lander touched down in the evening, Indian time.",
        "2023-08-23",
    )
    assert kind(moon, first) == "evidence"


def test_an_article_inside_a_phrase_and_another_actor() -> None:
    event = read_event("Will Sweden become a member of NATO before 2025-01-01?")
    assert event is not None and event.frame.name == "join"
    assert [a.name for a in event.actors] == ["Sweden"]
    spec = question(
        "Will Sweden become a member of NATO before 2025-01-01?",
        "Sweden NATO (join OR joins OR accession)",
        "2023-01-01",
        "2024-12-31",
    )
    finland = news(
        "Finland joins NATO as its 31st member",
        "Sweden's application was still held up by Turkey and Hungary.",
        "2023-04-04",
    )
    assert kind(spec, finland) == "other-actor"


def test_the_act_as_a_second_object_or_a_modifier_is_named_not_asserted() -> None:
    spec = question(
        "Will the US leave the Paris climate agreement before 2020-01-01?",
        '(US OR "United States") Paris (withdraw OR withdrawal OR leave OR exit)',
        "2019-01-01",
        "2019-12-31",
    )
    notice = news(
        "US formally notifies the UN of its Paris withdrawal",
        "The exit takes effect a year after the notice.",
        "2019-11-04",
    )
    assert kind(spec, notice) == "anticipated"
    accord = question(
        "Will Israel and the UAE sign a normalisation agreement before 2021-01-01?",
        "Israel (UAE OR Emirates) (sign OR signs OR signing)",
        "2020-08-01",
        "2020-12-31",
    )
    announced = news(
        "Israel and the UAE agree to normalise ties",
        "A signing ceremony is to follow in Washington.",
        "2020-08-13",
    )
    assert kind(accord, announced) != "evidence"
    signed = news(
        "Israel, UAE and Bahrain sign the Abraham Accords at the White House",
        "The documents were signed on the South Lawn.",
        "2020-09-15",
    )
    assert kind(accord, signed) == "evidence"


def test_another_thing_of_a_shared_name_after_the_act() -> None:
    spec = question(
        "Will Rafael Nadal win a 14th French Open title before 2022-07-01?",
        'Nadal ("French Open" OR "Roland Garros" OR Open) (win OR wins OR title)',
        "2022-01-01",
        "2022-06-30",
    )
    melbourne = news(
        "Nadal wins the Australian Open for a record 21st major",
        "He came from two sets down against Daniil Medvedev.",
        "2022-01-30",
    )
    assert kind(spec, melbourne) == "other-object"


def test_what_a_title_names_and_what_it_does() -> None:
    paris = read_event("Will the United States rejoin the Paris Agreement before 2021-04-01?")
    assert paris is not None and paris.frame.name == "rejoin"
    program = read_event("Will a computer program beat a top Go player before 2017-01-01?")
    assert program is not None and program.predicate == "beat"


def test_who_does_it_when_the_title_names_where_it_is_from_or_whose_it_is() -> None:
    comet = question(
        "Will a European spacecraft land on a comet before 2015-01-01?",
        '(Philae OR Rosetta) comet (land OR lands OR landing OR "touches down")',
        "2014-01-01",
        "2014-12-31",
    )
    philae = news(
        "Philae touches down on comet 67P",
        "The lander separated from Rosetta and reached the surface.",
        "2014-11-12",
    )
    assert kind(comet, philae) == "evidence"
    stadia = question(
        "Will Google launch its Stadia cloud gaming service before 2020-01-01?",
        None,
        "2019-01-01",
        "2019-12-31",
    )
    live = news(
        "Stadia goes live for its first players",
        "Buyers of the first bundle in 14 countries could start streaming games.",
        "2019-11-19",
    )
    assert kind(stadia, live) == "evidence"
    macron = question(
        "Will Emmanuel Macron win a second term as French president before 2022-06-01?",
        None,
        "2022-01-01",
        "2022-05-31",
    )
    reelected = news(
        "Macron re-elected, beating Le Pen in the run-off",
        "The president took about 58.5 per cent of the vote.",
        "2022-04-24",
    )
    assert kind(macron, reelected) == "evidence"


# ---------------------------------------------------------------------------------------------
# Light-verb and idiomatic wordings of an act (forecasts.event_frames), each on a real event.


def test_a_title_given_to_someone_is_their_win() -> None:
    # Argentina beat France on penalties in the final, 18 December 2022
    # (reference: https://en.wikipedia.org/wiki/2022_FIFA_World_Cup_final).
    spec = question(
        "Will Argentina win the 2022 FIFA World Cup before 2023-01-01?",
        'Argentina ("World Cup" OR "world title") (win OR wins OR champion OR title)',
        "2022-11-01",
        "2022-12-31",
    )
    penalty = news(
        "Montiel's penalty gives Argentina a third world title",
        "The shoot-out in Lusail settled a 3-3 final against France.",
        "2022-12-18",
    )
    assert kind(spec, penalty) == "evidence"
    # A preposition in the slot: the title is what is played for, not what was given.
    semi = news(
        "Messi's goal gives Argentina a shot at the world title",
        "Argentina beat Croatia 3-0 in the semi-final.",
        "2022-12-13",
    )
    assert kind(spec, semi) != "evidence"


def test_putting_ones_name_to_a_text_is_signing_it_where_ever_it_is_done() -> None:
    # The Paris Agreement was signed in New York on 22 April 2016
    # (reference: https://en.wikipedia.org/wiki/Paris_Agreement).
    spec = question(
        "Will the United States sign the Paris climate agreement before 2016-07-01?",
        '(US OR "United States") Paris (sign OR signs OR signed)',
        "2016-01-01",
        "2016-06-30",
    )
    names = news(
        "Leaders put their names to the Paris climate deal at the UN",
        "At the ceremony in New York John Kerry, his granddaughter on his lap, inked the "
        "accord for the United States.",
        "2016-04-22",
    )
    assert kind(spec, names) == "evidence"


def test_goods_that_hit_shelves_go_on_sale_though_buyers_could_get_them() -> None:
    # The Nintendo Switch went on sale on 3 March 2017
    # (reference: https://en.wikipedia.org/wiki/Nintendo_Switch).
    spec = question(
        "Will Nintendo's Switch console go on sale before 2017-07-01?",
        '(Nintendo OR Switch) ("on sale" OR launch OR release)',
        "2017-01-01",
        "2017-06-30",
    )
    shelves = news(
        "Nintendo's new console hits shelves in Japan, the US and Europe",
        "Buyers could pick up a Switch from Friday, with Zelda among the first games.",
        "2017-03-03",
    )
    assert kind(spec, shelves) == "evidence"


def test_a_deal_that_goes_through_is_complete_one_going_through_a_review_is_not() -> None:
    # Disney completed its purchase of 21st Century Fox on 20 March 2019, after the European
    # Commission cleared it on conditions on 6 November 2018
    # (reference: https://en.wikipedia.org/wiki/Acquisition_of_21st_Century_Fox_by_Disney).
    spec = question(
        "Will Disney complete its acquisition of 21st Century Fox before 2019-07-01?",
        "Disney Fox (completes OR completed OR closes) (deal OR acquisition OR takeover)",
        "2018-07-01",
        "2019-06-30",
    )
    review = news(
        "Disney's Fox takeover goes through an EU review on conditions",
        "Brussels wants the A&E channels in Europe sold first.",
        "2018-11-06",
    )
    assert kind(spec, review) != "evidence"
    done = news(
        "The Disney takeover of Fox goes through",
        "The $71bn deal brings Marvel's X-Men and the Simpsons to the Mouse.",
        "2019-03-20",
    )
    assert kind(spec, done) == "evidence"


def test_an_exclusions_word_inside_a_name_or_describing_the_deal_itself() -> None:
    # Microsoft completed its purchase of Activision Blizzard on 13 October 2023
    # (reference: https://en.wikipedia.org/wiki/Acquisition_of_Activision_Blizzard_by_Microsoft).
    spec = question(
        "Will Microsoft complete its acquisition of Activision Blizzard before 2024-01-01?",
        "Microsoft Activision (completes OR completed OR closes) (deal OR acquisition OR takeover)",
        "2023-01-01",
        "2023-12-31",
        "Resolves YES if Microsoft closes its purchase of Activision Blizzard. Does not count: "
        "court rulings, or other gaming deals.",
    )
    done = news(
        "Microsoft Gaming grows as the Activision takeover goes through",
        "Microsoft finished its $69bn purchase of the Call of Duty publisher, the largest "
        "gaming deal ever.",
        "2023-10-13",
    )
    assert kind(spec, done) == "evidence"


def test_a_derived_landing_query_takes_touching_down() -> None:
    # Chandrayaan-3's lander touched down near the Moon's south pole on 23 August 2023
    # (reference: https://en.wikipedia.org/wiki/Chandrayaan-3).
    spec = question(
        "Will India land a spacecraft on the Moon before 2024-01-01?",
        None,
        "2023-07-01",
        "2023-12-31",
    )
    assert '"touch down"' in str(spec.query)
    down = news(
        "India's Vikram lander touches down on the lunar surface",
        "The Chandrayaan-3 mission made India the fourth country to land softly on the Moon.",
        "2023-08-23",
    )
    assert kind(spec, down) == "evidence"


def test_a_derived_query_takes_wordnet_synonyms_of_a_verb_no_frame_lists() -> None:
    # NASA's Deep Impact probe sent an impactor into comet Tempel 1 on 4 July 2005
    # (reference: https://en.wikipedia.org/wiki/Deep_Impact_(spacecraft)).
    spec = question(
        "Will NASA's Deep Impact probe hit a comet before 2005-08-01?",
        None,
        "2005-01-12",
        "2005-07-31",
    )
    assert "strike" in str(spec.query) and '"collide with"' in str(spec.query)
    strikes = news(
        "NASA's Deep Impact probe strikes a comet",
        "The copper impactor it released collided with the nucleus of Tempel 1, throwing up "
        "a bright plume of dust.",
        "2005-07-04",
    )
    assert kind(spec, strikes) == "evidence"
    # A lemma of the sense that news uses otherwise is left out: running into dust is no hit.
    dust = news(
        "NASA's Deep Impact probe runs into a comet's dust",
        "Its camera was sandblasted as it neared Tempel 1.",
        "2005-07-01",
    )
    assert kind(spec, dust) != "evidence"
