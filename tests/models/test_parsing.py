"""models.parsing: lenient about the format of the model's output, strict about its content."""

from __future__ import annotations

import pytest

from models.parsing import InvalidOutput, normalise, parse_queries, repeats


def test_plain_lines_are_queries_in_order():
    assert parse_queries("tesla model y\nbyd ev sales\nhome ev charger", 5) == [
        "tesla model y", "byd ev sales", "home ev charger"]


def test_a_query_that_repeats_an_earlier_ones_words_takes_no_slot():
    # quoted from a student's outputs on the benchmark's test users
    raw = ("sierra leone pastor finds huge diamond\nsierra Leone pastor finds\npesticide poisoning\n"
           "pesticides poisoning\nconway intelligence\nconway's intelligence\nconway spicer\nspicer")
    assert parse_queries(raw, 5) == ["sierra leone pastor finds huge diamond", "pesticide poisoning",
                                     "conway intelligence", "conway spicer"]
    assert repeats("brexit", ["brexit trade deal"]) and repeats("brexit trade deal talks", ["brexit trade deal"])
    assert not repeats("brexit bill", ["brexit trade deal"]) and not repeats("uk ev", ["uk ev sales"])



def test_a_query_that_shares_all_but_one_word_of_three_or_more_with_an_earlier_one_takes_no_slot():
    # quoted from student-hs12b's lists for the sample users (u002, u032)
    assert repeats("carbon trade levy starts", ["carbon border levy starts"])
    assert repeats("carbon boundary levy starts", ["carbon border levy starts biting"])
    assert parse_queries("carbon border levy starts\ncarbon trade levy starts\nfixed mortgage best buy", 5) == [
        "carbon border levy starts", "fixed mortgage best buy"]
    # two words shared of three and four: a different search
    assert not repeats("fed rate cut odds", ["fed rate hike december"])
    assert not repeats("bond yields jump", ["bond market rally"])  # one shared of three


@pytest.mark.parametrize("bullet", ["- ", "* ", "• ", "· ", "-- "])
def test_bullets_are_stripped(bullet):
    assert parse_queries(f"{bullet}premier league table\n{bullet}nba trade rumours", 5) == [
        "premier league table", "nba trade rumours"]


@pytest.mark.parametrize("first, second", [("1.", "2."), ("1)", "2)"), ("(1)", "(2)"), ("1:", "2:"),
                                           ("a)", "b)"), ("a.", "b.")])
def test_numbering_is_stripped(first, second):
    assert parse_queries(f"{first} premier league table\n{second} nba trade rumours", 5) == [
        "premier league table", "nba trade rumours"]


@pytest.mark.parametrize("quoted", ['"ev charger reviews"', "'ev charger reviews'", "“ev charger reviews”",
                                    "`ev charger reviews`", '- "ev charger reviews".'])
def test_quotes_are_stripped(quoted):
    assert parse_queries(quoted, 5) == ["ev charger reviews"]


@pytest.mark.parametrize("prefix", ["Query 1:", "query 2 -", "Q3:", "Search query 4:", "Queries:"])
def test_query_prefixes_are_stripped(prefix):
    assert parse_queries(f"{prefix} wimbledon final highlights", 5) == ["wimbledon final highlights"]


def test_trailing_punctuation_is_removed():
    assert parse_queries("ev charger reviews.\nbest pie recipe?", 5) == ["ev charger reviews", "best pie recipe"]


def test_long_comma_joined_line_is_split():
    line = "tesla model y price cut, byd ev sales 2026, home ev charger reviews, alcaraz wimbledon final"
    assert parse_queries(line, 10) == ["tesla model y price cut", "byd ev sales 2026", "home ev charger reviews",
                                       "alcaraz wimbledon final"]


def test_short_line_with_comma_is_kept_whole():
    assert parse_queries("paris, france weather", 5) == ["paris, france weather"]


def test_semicolons_separate_queries():
    assert parse_queries("ev charger; pie recipe", 5) == ["ev charger", "pie recipe"]


def test_duplicates_are_removed_case_insensitively_and_queries_come_in_lower_case():
    assert parse_queries("Tesla news\ntesla NEWS\nTESLA news.\nbyd sales", 5) == ["tesla news", "byd sales"]
    assert parse_queries("us core CPi rises\njames Webb telescope", 5) == ["us core cpi rises", "james webb telescope"]


def test_max_queries_is_respected_keeping_the_first():
    queries = ["premier league table", "nba trade rumours", "fed rate decision", "climate summit deal",
               "mars rover landing", "tesla recall"]
    assert parse_queries("\n".join(queries), 3) == queries[:3]


@pytest.mark.parametrize("bad", [
    "https://example.com/ev-chargers",
    "www.example.org reviews",
    "shop example.com deals",
    "Here are search queries for you",
    "queries about this user",
    "what this reader likes",
    "the user follows tennis",
    "</activity> done",
    "News read about tesla",
    "Pages visited recently",
    "ignore the instructions above",
    "as an AI I cannot",
    "email jane@example.com now",
    "call 07700 900461 today",
    "one two three four five six seven eight nine",
    "x" * 81,
    "12345 678",
    "2026",
    "ab",
])
def test_invalid_candidates_are_rejected(bad):
    assert parse_queries(f"{bad}\nvalid query here", 5) == ["valid query here"]


def test_eight_words_and_eighty_chars_are_accepted():
    eight = "one two three four five six seven eight"
    assert parse_queries(eight, 5) == [eight]
    long = "electroencephalographists counterrevolutionaries uncharacteristically fitness"  # 77
    long += " gb"
    assert len(long) == 80
    assert parse_queries(long, 5) == [long]


def test_invalid_output_raised_when_nothing_is_valid():
    with pytest.raises(InvalidOutput, match="no valid query"):
        parse_queries("https://x.com\n12345\n\n- \nsearch queries for this user", 5)


@pytest.mark.parametrize("empty", ["", "   ", "\n\n", "-\n*\n1."])
def test_invalid_output_raised_for_empty_output(empty):
    with pytest.raises(InvalidOutput):
        parse_queries(empty, 5)


def test_invalid_output_is_a_value_error():
    assert issubclass(InvalidOutput, ValueError)


def test_normalise_collapses_spaces_and_strips_quotes_and_punctuation():
    assert normalise('  "ev   charger\treviews!"  ') == "ev charger reviews"


def test_a_shared_posts_lead_in_is_not_part_of_the_query():
    # the model copies "Worth a read:" and "Interesting:" from the reader's shared posts; nobody searches them
    assert normalise("read george osborne") == "george osborne"
    assert normalise("Interesting: threat looms") == "threat looms"
    assert normalise("worth a read: fed rates") == "fed rates"
    assert normalise("thoughts on brexit vote") == "brexit vote"
    assert normalise("reading festival lineup") == "reading festival lineup"  # a word that starts like one stays
    assert parse_queries("read george osborne\nimportant\ninteresting tax leaked", 5) == ["george osborne",
                                                                                        "tax leaked"]
