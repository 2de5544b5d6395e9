"""Parsing what models really write: JSON in prose or fences, Markdown tables, percentages in prose, garbage;
cited MGs; probe answers mapped to positive / negative / neutral."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mgclr.emotion.llm import ParseError, parse_cited_mgs, parse_prediction, parse_probe_answer

MG_NAMES = ["scratch_head", "fold_arms", "touch_nose", "nod"]


@pytest.mark.parametrize("text, outcome, win, form", [
    ('{"win": 70, "lose": 30}', "win", 70, "json"),
    ('Sure! Here is my assessment.\n```json\n{\n  "win": 35,\n  "lose": 65,\n  "reason": "He sounds flat."\n}\n```\n'
     'Let me know if you need more.', "lose", 35, "json"),
    ('{"prediction": "lose", "confidence": {"win": 20, "lose": 80}}', "lose", 20, "json"),
    ('{"Outcome": "Won", "Confidence": 85}', "win", 85, "json"),
    ('{"outcome": "lose", "confidence": 0.9}', "lose", 10, "json"),
    ("{'win': 0.6, 'lose': 0.4,}", "win", 60, "json"),
    ('{win: 45, lose: 55}', "lose", 45, "json"),
    ('{"answer": {"win_probability": "25%", "lose_probability": "75%"}}', "lose", 25, "json"),
    ('{"probabilities": [{"outcome": "win", "probability": 0.3}, {"outcome": "lose", "probability": 0.7}]}',
     "lose", 30, "json"),
    ('<think>Maybe they won? 50% either way.</think>\nFinal answer: {"win": 40, "lose": 60}', "lose", 40, "json"),
    ("| Outcome | Confidence |\n|---------|-----------|\n| Win     | 25%       |\n| **Lose** | 75%     |",
     "lose", 25, "table"),
    ("Here is my estimate:\n\n| Win | Lose |\n|:---:|:---:|\n| 60 | 40 |\n", "win", 60, "table"),
    ("Win: 65%, Lose: 35%", "win", 65, "prose"),
    ("**Win:** 55%\n**Lose:** 45%", "win", 55, "prose"),
    ("Based on the hesitant tone I'd estimate a 30% chance the player won and a 70% chance they lost.",
     "lose", 30, "prose"),
    ("The player probably lost (confidence 80%).", "lose", 20, "prose"),
])
def test_realistic_answers(text, outcome, win, form):
    pred = parse_prediction(text)
    assert (pred.outcome, pred.win, pred.form) == (outcome, pytest.approx(win), form)
    assert pred.win + pred.lose == pytest.approx(100)


def test_confidences_not_summing_to_100_are_rescaled_and_flagged():
    pred = parse_prediction('{"win": 80, "lose": 40}')
    assert pred.normalised and pred.given == (80, 40)
    assert (pred.win, pred.lose) == (pytest.approx(66.6667, abs=1e-3), pytest.approx(33.3333, abs=1e-3))
    assert "summed to 120" in pred.notes[0]
    assert not parse_prediction('{"win": 70.2, "lose": 29.9}').normalised  # rounding noise is not rescaling


def test_fractions_and_completion_are_noted():
    assert "fractions" in parse_prediction('{"win": 0.25, "lose": 0.75}').notes[0]
    pred = parse_prediction('{"prediction": "win", "confidence": 85}')
    assert (pred.win, pred.lose) == (85, 15) and "100 minus" in pred.notes[0]


def test_stated_outcome_against_the_confidences_is_noted():
    pred = parse_prediction('{"prediction": "win", "win": 30, "lose": 70}')
    assert pred.outcome == "lose" and pred.stated == "win" and "the confidences decide" in pred.notes[-1]


def test_fifty_fifty_abstains_unless_an_outcome_is_stated():
    assert parse_prediction('{"win": 50, "lose": 50}').outcome is None
    assert parse_prediction('{"prediction": "lose", "win": 50, "lose": 50}').outcome == "lose"


@pytest.mark.parametrize("text, message", [
    ("", "the answer is empty"),
    ("   \n ", "the answer is empty"),
    ("I cannot determine the outcome from this transcript.", "no win/lose confidences found"),
    ("The player won 3 sets and lost 1.", "no win/lose confidences found"),
    ('{"prediction": "lose"}', "states 'lose' but gives no confidences"),
    ('{"win": 500, "lose": 10}', "expected a value in 0..100"),
    ('{"win": -5, "lose": 105}', "expected a value in 0..100"),
    ('{"win": 10, "lose": 10}', "sum to 20"),
    ('{"win": 0, "lose": 0}', "sum to 0"),
    ("{ this is not json", "no win/lose confidences found"),
])
def test_garbage_is_a_parse_error_naming_what_was_wrong(text, message):
    with pytest.raises(ParseError, match=message):
        parse_prediction(text)


def test_parse_error_shows_the_start_of_the_answer():
    with pytest.raises(ParseError, match="the answer starts 'I am unable"):
        parse_prediction("I am unable to decide.\n\nSorry.")


@given(win=st.integers(0, 100), form=st.sampled_from([
    '{{"win": {w}, "lose": {l}}}', 'Answer:\n```json\n{{"lose": {l}, "win": {w}}}\n```',
    "| outcome | confidence |\n|---|---|\n| win | {w}% |\n| lose | {l}% |", "Win: {w}%\nLose: {l}%",
    "{w}% win, {l}% lose", '{{"confidence": {{"win": "{w}%", "lose": "{l}%"}}}}']))
@settings(max_examples=150, deadline=None)
def test_any_split_round_trips(win, form):
    pred = parse_prediction(form.format(w=win, l=100 - win))
    assert (pred.win, pred.lose) == (win, 100 - win) and not pred.normalised
    assert pred.outcome == ("win" if win > 50 else "lose" if win < 50 else None)


def test_cited_mgs_from_the_json_list():
    text = ('```json\n{"win": 30, "lose": 70, "micro_gestures_used": ["Scratch Head", "fold-arms", "waving"], '
            '"reason": "nod was absent"}\n```')
    pred = parse_prediction(text, MG_NAMES)
    assert pred.cited_mgs == ["scratch_head", "fold_arms"] and pred.unmatched_mgs == ["waving"]


def test_cited_mgs_from_prose_when_there_is_no_list():
    cited, unmatched = parse_cited_mgs("Lose: 70%. The repeated FOLD ARMS and the touch_nose suggest tension.",
                                       MG_NAMES)
    assert cited == ["fold_arms", "touch_nose"] and unmatched == []
    assert parse_cited_mgs('{"win": 60, "lose": 40, "micro_gestures_used": []}', MG_NAMES) == ([], [])
    # a word inside another is not a mention
    assert parse_cited_mgs("a nodding player", ["nod"]) == ([], [])


def test_cited_mgs_as_objects():
    text = json.dumps({"win": 20, "lose": 80, "evidence": [{"mg": "nod", "why": "x"}, {"name": "scratch head"}]})
    assert parse_prediction(text, MG_NAMES).cited_mgs == ["nod", "scratch_head"]


@pytest.mark.parametrize("text, valence, matched", [
    ('{"valence": "negative", "emotion": "anxiety", "reason": "self-soothing"}', "negative", "json"),
    ('```json\n{"Valence": "Positive"}\n```', "positive", "json"),
    ('{"sentiment": "neutral"}', "neutral", "json"),
    ('{"emotion": "nervousness", "reason": "fidgeting"}', "negative", "synonym:nervousness"),
    ("Valence: **neutral** -- it is often just a habit.", "neutral", "label"),
    ("Negative. Scratching the head usually signals confusion or frustration.", "negative", "word"),
    ("This is not positive; it mostly shows anxiety.", "negative", "synonym:anxiety"),
    ("It usually suggests confidence and ease.", "positive", "synonym:confidence"),
    ("It is neither positive nor negative, rather neutral.", "neutral", "word"),
])
def test_probe_answers(text, valence, matched):
    answer = parse_probe_answer(text)
    assert (answer.valence, answer.matched) == (valence, matched)


@pytest.mark.parametrize("text", ["", "I'd rather not say.", "¯\\_(ツ)_/¯", '{"valence": "purple"}'])
def test_unreadable_probe_answers_are_unparsed(text):
    assert parse_probe_answer(text).valence is None
