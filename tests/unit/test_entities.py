import dataclasses
import itertools
import random
from datetime import date, datetime

import pytest
from warmline.nlu import entities
from warmline.nlu.entities import (
    ENTITY_KINDS,
    Entity,
    extract_entities,
    spoken_digits,
    words_to_number,
)

TODAY = date(2024, 6, 12)  # a Wednesday


def found(text, kind=None, today=TODAY):
    """(kind, value) of each entity in text, optionally only those of one kind."""
    return [(e.kind, e.value) for e in extract_entities(text, today=today) if kind in (None, e.kind)]


# --- spoken numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "digits"),
    [
        ("four five six", "456"),
        ("zero", "0"),
        ("oh", "0"),
        ("o", "0"),
        ("double seven", "77"),
        ("triple two", "222"),
        ("double oh seven", "007"),
        ("six oh six one one", "60611"),
        ("twenty three", "23"),
        ("twenty-three", "23"),
        ("twenty", "20"),
        ("nineteen eighty", "1980"),
        ("one eight hundred", "1800"),
        ("twelve hundred", "1200"),
        ("555-123-4567", "5551234567"),
        ("(555) 123 4567", "5551234567"),
        ("five five five dash one two one two", "5551212"),
        ("88213", "88213"),
        (["Four", "FIVE"], "45"),
    ],
)
def test_spoken_digits(words, digits):
    assert spoken_digits(words) == digits


@pytest.mark.parametrize("words", ["", "hello", "four five cats", "double", "double cats", "a b c", "5th", "²"])
def test_spoken_digits_rejects_non_digits(words):
    assert spoken_digits(words) is None


@pytest.mark.parametrize(
    ("words", "number"),
    [
        ("zero", 0),
        ("seven", 7),
        ("thirteen", 13),
        ("forty", 40),
        ("forty two", 42),
        ("forty-two", 42),
        ("two hundred forty", 240),
        ("a hundred", 100),
        ("a hundred and fifty", 150),
        ("a thousand", 1000),
        ("twelve hundred", 1200),
        ("twenty five hundred", 2500),
        ("two thousand and five", 2005),
        ("one hundred twenty three thousand four hundred fifty six", 123456),
        ("five hundred thousand", 500_000),
        ("two million three hundred thousand", 2_300_000),
        ("5 thousand", 5000),
        ("1200", 1200),
        (["Two", "Hundred"], 200),
    ],
)
def test_words_to_number(words, number):
    assert words_to_number(words) == number


@pytest.mark.parametrize(
    "words",
    [
        "", "and", "hundred", "thousand", "a", "five five", "twenty twenty", "nineteen eighty",
        "one hundred and", "and five", "two thousand three million", "one hundred two hundred",
        "zero five", "twelve cats", "five 5", "a five",
    ],
)
def test_words_to_number_rejects_what_is_not_one_number(words):
    assert words_to_number(words) is None


# --- policy and claim numbers, digit runs -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my policy number is h o one two three four five six", [("policy_number", "HO123456")]),
        ("h o one two three four five six", [("policy_number", "HO123456")]),
        ("policy four five six", [("policy_number", "456")]),
        ("policy number is uh one two three four five", [("policy_number", "12345")]),
        ("my policy is a b c one two three", [("policy_number", "ABC123")]),
        ("policy double seven triple two one", [("policy_number", "772221")]),
        ("policy number one two oh oh five", [("policy_number", "12005")]),
        ("policy one two three four five six seven eight nine oh", [("policy_number", "1234567890")]),
        ("My policy number is HO-123456.", [("policy_number", "HO123456")]),
        ("HO-123456", [("policy_number", "HO123456")]),
        ("ho123456", [("policy_number", "HO123456")]),
        ("pol 88213", [("policy_number", "88213")]),
        ("aitch o one two three four five six", [("policy_number", "HO123456")]),
        ("claim number four five six", [("claim_number", "456")]),
        ("the claim is c l one two three four", [("claim_number", "CL1234")]),
        ("i filed a claim it's nine eight seven six five", [("claim_number", "98765")]),
        ("my policy claim number is one two three four", [("claim_number", "1234")]),
        ("the claim on my policy is four four four five", [("policy_number", "4445")]),
        ("it is four five six seven", [("digits", "4567")]),
        ("double seven triple two one", [("digits", "772221")]),
        ("reference nineteen eighty", [("digits", "1980")]),
        ("code 88213", [("digits", "88213")]),
        ("one two three", [("digits", "123")]),
        ("b one two three", [("digits", "B123")]),
        ("policy number is P A dash one two three four five six", [("policy_number", "PA123456")]),
        ("policy 150", [("policy_number", "150")]),
        ("policy oh one two three", [("policy_number", "0123")]),
        ("number is 4455", [("digits", "4455")]),
    ],
)
def test_policy_claim_and_digit_runs(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "one", "two", "I have two cars", "I have 2 cars", "twenty two", "one two", "double seven",
        "we have twelve hundred acres", "three hundred", "a b c", "a b c and one two", "oh I see",
        "my policy", "claim", "i have a policy", "the fifth one", "I have 150 horses", "1,200 acres",
        "we sold 1,234,567 units",
    ],
)
def test_no_digit_run_entity(text):
    assert found(text) == []


def test_letters_only_join_when_next_to_digits():
    assert found("a b c then one two three four") == [("digits", "1234")]


def test_the_article_a_is_not_a_letter_prefix():
    assert found("it's a one two three four five six") == [("digits", "123456")]


def test_a_cue_belongs_to_the_nearest_number_only():
    assert found("policy one two three four five six and then nine eight seven six") == [
        ("policy_number", "123456"),
        ("digits", "9876"),
    ]


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("march fifth nineteen eighty", "1980-03-05"),
        ("my date of birth is March 5th, 1980.", "1980-03-05"),
        ("march 5 1980", "1980-03-05"),
        ("march the fifth nineteen eighty", "1980-03-05"),
        ("march five nineteen eighty", "1980-03-05"),
        ("the fifth of march nineteen eighty", "1980-03-05"),
        ("5th of march 1980", "1980-03-05"),
        ("5 march 1980", "1980-03-05"),
        ("3/5/1980", "1980-03-05"),
        ("3/5/80", "1980-03-05"),
        ("1/15/25", "2025-01-15"),
        ("1980-03-05", "1980-03-05"),
        ("03-05-1980", "1980-03-05"),
        ("june twenty first", "2024-06-21"),
        ("june twenty-first", "2024-06-21"),
        ("june 21st", "2024-06-21"),
        ("june twelfth", "2024-06-12"),  # today itself is the next occurrence
        ("the fifth of march", "2025-03-05"),  # already past this year
        ("may fifth", "2025-05-05"),
        ("may 5", "2025-05-05"),
        ("dec. 24", "2024-12-24"),
        ("july fourth twenty twenty", "2020-07-04"),
        ("july fourth twenty twenty four", "2024-07-04"),
        ("january first two thousand", "2000-01-01"),
        ("january first two thousand and five", "2005-01-05".replace("01-05", "01-01")),
        ("october third nineteen oh five", "1905-10-03"),
        ("august ninth twenty ten", "2010-08-09"),
        ("april first nineteen hundred", "1900-04-01"),
        ("february twenty ninth", "2028-02-29"),
        ("today", "2024-06-12"),
        ("tomorrow", "2024-06-13"),
        ("yesterday", "2024-06-11"),
        ("the day after tomorrow", "2024-06-14"),
        ("friday", "2024-06-14"),
        ("this friday", "2024-06-14"),
        ("next tuesday", "2024-06-18"),
        ("next wednesday", "2024-06-19"),  # strictly after today
        ("this coming monday", "2024-06-17"),
        ("last friday", "2024-06-07"),
        ("last wednesday", "2024-06-05"),
        ("in three days", "2024-06-15"),
        ("in a week", "2024-06-19"),
        ("in two weeks", "2024-06-26"),
    ],
)
def test_dates(text, iso):
    assert found(text, "date") == [("date", iso)]


@pytest.mark.parametrize(
    "text",
    [
        "you may want to call", "may i ask", "we march five miles", "february thirtieth",
        "february thirtieth nineteen eighty", "13/5/1980", "1/2 of the cost", "the fifth one",
        "on the second try", "wait a second", "fridays are busy", "in many days",
    ],
)
def test_no_date(text):
    assert found(text, "date") == []


def test_today_defaults_to_the_machine_date():
    assert extract_entities("today")[0].value == date.today().isoformat()


def test_a_datetime_today_still_gives_a_plain_date():
    assert found("tomorrow", today=datetime(2024, 6, 12, 23, 59)) == [("date", "2024-06-13")]


# --- amounts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("two hundred forty dollars and fifty cents", "240.50"),
        ("two hundred and forty dollars", "240.00"),
        ("$1,200", "1200.00"),
        ("$1,200.5", "1200.50"),
        ("it was $240.50.", "240.50"),
        ("$ 75", "75.00"),
        ("1,500 dollars", "1500.00"),
        ("300 bucks", "300.00"),
        ("12.99 USD", "12.99"),
        ("twelve hundred dollars", "1200.00"),
        ("five hundred bucks", "500.00"),
        ("a thousand dollar deductible", "1000.00"),
        ("one dollar", "1.00"),
        ("a hundred and fifty dollars", "150.00"),
        ("twenty five hundred dollars", "2500.00"),
        ("two thousand five hundred dollars", "2500.00"),
        ("five hundred thousand dollars of coverage", "500000.00"),
        ("forty-two dollars and ninety-nine cents", "42.99"),
        ("ten dollars fifty cents", "10.50"),
        ("fifty cents", "0.50"),
        ("my deductible is 500 dollars", "500.00"),
    ],
)
def test_amounts(text, amount):
    assert found(text, "amount") == [("amount", amount)]


@pytest.mark.parametrize(
    "text", ["dollars", "a dollar", "the dollar is strong", "many bucks", "I have two cars", "$", "$99999999999999"]
)
def test_no_amount(text):
    assert found(text, "amount") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the premium is five hundred dollars", [("amount", "500.00")]),
        (
            "policy one two three four five six five hundred dollars",
            [("policy_number", "123456"), ("amount", "500.00")],
        ),
    ],
)
def test_an_amount_is_not_also_a_digit_run(text, expected):
    assert found(text) == expected


# --- phones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "five five five one two three four five six seven",
        "my number is five five five one two three four five six seven",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "555 123 4567",
        "5551234567",
        "+1 555 123 4567",
        "1-555-123-4567",
        "one five five five one two three four five six seven",
        "area code five five five one two three four five six seven",
        "area code five five five and the number is one two three four five six seven",
        "five five five dash one two three dash four five six seven",
        "call me back at five five five one two three four five six seven thanks",
        "triple five one two three four five six seven",
        "my policy is one two three four five six and my phone is five five five one two three four five six seven",
        "five five five, one two three, four five six seven",
        "oh five five five one two three four five six seven",  # "oh" here is a sigh, not a zero
    ],
)
def test_phones(text):
    assert found(text, "phone") == [("phone", "+15551234567")]


def test_toll_free_said_as_eight_hundred():
    assert found("one eight hundred five five five one two one two") == [("phone", "+18005551212")]


@pytest.mark.parametrize(
    "text",
    [
        "I have two cars",
        "one two three four five six seven eight nine zero",  # area codes never start with 1
        "five five five one two one two",  # seven digits: no area code
        "five five five one two three four five six seven eight",
        "policy five five five one two three four five six seven",
        "area code five five five",
        "a b c five five five one two three four five six seven",
    ],
)
def test_no_phone(text):
    assert found(text, "phone") == []


def test_phone_text_and_offsets_point_at_the_source():
    text = "Call me at (555) 123-4567."
    (phone,) = extract_entities(text, today=TODAY)
    assert (phone.text, text[phone.start : phone.end]) == ("(555) 123-4567", "(555) 123-4567")


# --- ZIP codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zip_code"),
    [
        ("my zip is six oh six one one", "60611"),
        ("zip code six oh six one one", "60611"),
        ("the zip code is 60611", "60611"),
        ("zip 60611-1234", "60611-1234"),
        ("zip six oh six one one one two three four", "60611-1234"),
        ("postal code nine oh two one oh", "90210"),
        ("my zipcode is zero two one three nine", "02139"),
        ("zip code double oh five oh one", "00501"),
    ],
)
def test_zips(text, zip_code):
    assert found(text, "zip") == [("zip", zip_code)]


@pytest.mark.parametrize(
    "text",
    [
        "six oh six one one",  # no cue: just digits
        "I have two cars",
        "my zip is six oh six",
        "zip code six oh six one one two",
        "zip a one two three four",
        "60611",
    ],
)
def test_no_zip(text):
    assert found(text, "zip") == []


# --- emails -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("john dot smith at gmail dot com", "john.smith@gmail.com"),
        ("it's john dot smith at gmail dot com", "john.smith@gmail.com"),
        ("j smith underscore two at yahoo dot com", "jsmith_2@yahoo.com"),
        ("my email is j smith underscore two at yahoo dot com", "jsmith_2@yahoo.com"),
        ("my email is john smith at gmail dot com", "johnsmith@gmail.com"),
        ("email address is mary jones at outlook dot com", "maryjones@outlook.com"),
        ("jean dash luc at sign my dash agency dot co dot uk", "jean-luc@my-agency.co.uk"),
        ("mary hyphen ann at aol dot com", "mary-ann@aol.com"),
        ("a b c one two three at gmail dot com", "abc123@gmail.com"),
        ("bob at g mail dot com", "bob@gmail.com"),
        ("bob at gmail dot com and my phone is", "bob@gmail.com"),
        ("reach me at bob at gmail dot com", "bob@gmail.com"),
        ("send it to john.smith@gmail.com please", "john.smith@gmail.com"),
        ("Mail: John.Smith@Example.COM.", "john.smith@example.com"),
        ("jane_doe+ins@agency.co.uk", "jane_doe+ins@agency.co.uk"),
        ("john.smith at gmail.com", "john.smith@gmail.com"),
        ("john @ gmail.com", "john@gmail.com"),
    ],
)
def test_emails(text, email):
    assert found(text, "email") == [("email", email)]


@pytest.mark.parametrize(
    "text",
    [
        "I'm at home", "look at google dot com", "at gmail dot com", "we met at noon dot then",
        "john at gmail", "john at gmail dot", "i sent an email to my agent at noon",
        "john dot at gmail dot com", "user@localhost",
    ],
)
def test_no_email(text):
    assert found(text, "email") == []


def test_an_email_is_not_also_a_digit_run():
    assert found("one two three four at gmail dot com") == [("email", "1234@gmail.com")]


# --- whole utterances -------------------------------------------------------------------------


def test_a_caller_giving_several_details_at_once():
    text = (
        "hi my policy number is h o one two three four five six and my date of birth is march fifth "
        "nineteen eighty my zip is six oh six one one you can reach me at five five five one two three "
        "four five six seven or john dot smith at gmail dot com the deductible is five hundred dollars"
    )
    assert found(text) == [
        ("policy_number", "HO123456"),
        ("date", "1980-03-05"),
        ("zip", "60611"),
        ("phone", "+15551234567"),
        ("email", "john.smith@gmail.com"),
        ("amount", "500.00"),
    ]


def test_a_typed_chat_message():
    text = "Hi, policy HO-123456. Claim #88213 for $1,200.50 on 3/5/2024; call (555) 123-4567 or jo@x.org"
    assert found(text) == [
        ("policy_number", "HO123456"),
        ("claim_number", "88213"),
        ("amount", "1200.50"),
        ("date", "2024-03-05"),
        ("phone", "+15551234567"),
        ("email", "jo@x.org"),
    ]


# --- the Entity type and robustness -----------------------------------------------------------


def test_entity_is_frozen_and_slotted():
    entity = extract_entities("policy four five six", today=TODAY)[0]
    assert entity == Entity("policy_number", "456", "four five six", 7, 20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        entity.value = "x"  # type: ignore[misc]
    assert not hasattr(entity, "__dict__")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00\xff",
        "\x00" * 50,
        "ünïcödé İstanbul ß ﬃ",  # lower() changes lengths of some of these: offsets must not drift
        "电话号码是五五五一二三四五六七",
        "mi número de póliza es uno dos tres",
        "\u0663\u0663\u0663 \u0664\u0664\u0664 \u0665\u0665\u0665\u0665",  # Arabic-Indic digits are not numbers
        "\ud800 lone surrogate",
        "at at at dot dot dot com",
        "double double triple",
        "- - - ( ) + . , $ $$ @@ //",
        "$" + "9" * 40,
        "9" * 2000,
        "one " * 500,
        "at " * 700,
        "a " * 1000,
        "march " * 400,
        "zip " * 400 + "six oh six one one",
        "twenty " * 300,
        "1/1/2000 " * 200,
        "x@y.com " * 200,
    ],
)
def test_never_raises_and_offsets_match_the_source(text):
    result = extract_entities(text, today=TODAY)
    assert isinstance(result, tuple)
    for entity in result:
        assert entity.kind in ENTITY_KINDS
        assert text[entity.start : entity.end] == entity.text
    assert all(a.end <= b.start for a, b in itertools.pairwise(result))  # ordered, never overlapping


@pytest.mark.parametrize("text", [None, 42, b"five five five", ["one"]])
def test_non_text_gives_nothing(text):
    assert extract_entities(text) == ()  # type: ignore[arg-type]


def test_random_junk_never_raises():
    rng = random.Random(1234)
    alphabet = list("abcdefghijklmnopqrstuvwxyz0123456789 .,-()+$@/_'\x00\xff\u00e9\u4e2d")
    vocabulary = (
        "one two oh double triple twenty hundred thousand dollars cents at dot zip policy claim "
        "march the of fifth next friday a i o h"
    ).split()
    for _ in range(300):
        junk = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        words = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 60)))
        for text in (junk, words, words + " " + junk):
            for entity in extract_entities(text, today=TODAY):
                assert text[entity.start : entity.end] == entity.text


def test_a_failing_stage_costs_only_its_own_entities(monkeypatch, caplog):
    def broken(doc):
        raise RuntimeError("secret caller text")

    monkeypatch.setattr(entities, "_STAGES", (broken, *entities._STAGES))
    assert found("policy four five six") == [("policy_number", "456")]
    assert "RuntimeError" in caplog.text and "secret" not in caplog.text
