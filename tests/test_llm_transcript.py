"""Transcripts (plain text, SRT, JSON; errors naming file and line), the masking request and template, reading
masked rows back, and the leakage check."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mgclr.emotion.llm import (
    MaskParseError,
    RuleBasedBackend,
    TemplateError,
    Transcript,
    TranscriptError,
    Utterance,
    check_leakage,
    load_mask_template,
    mask_request,
    parse_mask_answer,
    read_transcript,
    read_transcripts,
    validate_template,
    write_transcript,
)
from mgclr.emotion.llm.transcript import format_timestamp, parse_text_transcript, parse_timestamp

PLAIN = """# post-match interview, made up
[00:00:03] Q: How did the final set feel?

[00:00:07.5 - 00:00:12] A: Honestly I won the big points. Federer played well.
00:00:15.25 Interviewer: And the crowd?
[00:21] A: Great atmosphere, really.
[-] (applause)
"""

SRT = """1
00:00:03,000 --> 00:00:06,500
Q: How did the final set feel?

2
00:00:07,500 --> 00:00:12,000
A: Honestly I won
the big points.
"""


def test_plain_text_forms(tmp_path):
    path = tmp_path / "match_01.txt"
    path.write_text(PLAIN)
    t = read_transcript(path)
    assert t.video == "match_01" and t.path == str(path)
    assert [u.start_s for u in t.utterances] == [3.0, 7.5, 15.25, 21.0, None]
    assert t.utterances[1] == Utterance(7.5, 12.0, "A", "Honestly I won the big points. Federer played well.")
    assert t.utterances[2].speaker == "Interviewer" and t.utterances[4] == Utterance(None, None, None, "(applause)")


def test_untimed_line_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("[00:00:01] Q: first\nthis line has no time\n")
    with pytest.raises(TranscriptError, match=r"v\.txt:2: expected a timestamp .* got 'this line has no time'"):
        read_transcript(path)
    assert read_transcript(path, untimed="none").utterances[1] == Utterance(None, None, None, "this line has no time")
    appended = read_transcript(path, untimed="append")
    assert len(appended.utterances) == 1 and appended.utterances[0].text == "first this line has no time"
    with pytest.raises(ValueError, match="untimed: expected one of"):
        read_transcript(path, untimed="ignore")


@pytest.mark.parametrize("line, message", [
    ("[00:61:00] Q: x", "minutes and seconds must be below 60"),
    ("[00:00:09 - 00:00:05] Q: x", "end_s: expected >= start_s"),
])
def test_bad_times_name_the_line(line, message):
    with pytest.raises(TranscriptError, match=f"<text>:2: .*{message}"):
        parse_text_transcript("[00:00:01] ok\n" + line)


def test_speaker_labels_are_short():
    t = parse_text_transcript("[1:00] This sentence is long enough: not a speaker\n[1:01] [NAME]: masked speaker")
    assert t.utterances[0].speaker is None and t.utterances[0].text == "This sentence is long enough: not a speaker"
    assert t.utterances[1].speaker == "[NAME]"


def test_srt(tmp_path):
    path = tmp_path / "v.srt"
    path.write_text(SRT)
    t = read_transcript(path)
    assert t.utterances == [Utterance(3.0, 6.5, "Q", "How did the final set feel?"),
                            Utterance(7.5, 12.0, "A", "Honestly I won the big points.")]


@pytest.mark.parametrize("text, message", [
    ("1\n00:00:03 --> 00:00:06\nQ: x\n", r"v\.srt:2: expected a time line"),
    ("1\n00:00:03,000 --> 00:00:06,000\n\n2\n", r"v\.srt:2: the block has a time but no text"),
    ("1\n", r"v\.srt:1: expected a time line .* got the end of the file"),
])
def test_malformed_srt_names_the_line(tmp_path, text, message):
    path = tmp_path / "v.srt"
    path.write_text(text)
    with pytest.raises(TranscriptError, match=message):
        read_transcript(path)


def test_json_forms(tmp_path):
    rows = [{"start": 3, "end": 6.5, "speaker": "Q", "text": "How was it?"},
            {"start_s": "00:00:07.5", "text": "A: Fine.", "confidence": 0.9}]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "b.json").write_text(json.dumps({"text": "whole", "segments": [{"id": 0, "start": 1.0, "end": 2.0,
                                                                                  "text": " hello "}]}))
    a = read_transcript(tmp_path / "a.json")
    assert a.utterances == [Utterance(3.0, 6.5, "Q", "How was it?"), Utterance(7.5, None, "A", "Fine.")]
    assert read_transcript(tmp_path / "b.json").utterances == [Utterance(1.0, 2.0, None, "hello")]


@pytest.mark.parametrize("content, message", [
    ('[{"start": 1, "text": "ok"},\n {"start": 2}]', r"\[1\]: text: expected a string"),
    ('[{"text": "no time"}]', r"\[0\]: start: missing"),
    ('[{"start": "soon", "text": "x"}]', r"\[0\]: start: expected H:MM:SS or MM:SS, got 'soon'"),
    ('[\n{"start": 1,\n "text": "x",,}]', r"v\.json:3: not valid JSON"),
    ('{"lines": []}', "expected a list of utterances or an object with 'utterances' or 'segments'"),
])
def test_malformed_json_names_the_entry(tmp_path, content, message):
    path = tmp_path / "v.json"
    path.write_text(content)
    with pytest.raises(TranscriptError, match=message):
        read_transcript(path)


def test_read_transcripts_from_folders_and_files(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "a.txt").write_text("[0:01] x")
    (folder / "b.srt").write_text(SRT)
    (folder / "notes.md").write_text("ignored: not a transcript suffix")
    extra = tmp_path / "c.json"
    extra.write_text('[{"start": 0, "text": "y"}]')
    found = read_transcripts([folder, extra])
    assert sorted(found) == ["a", "b", "c"]
    (tmp_path / "a.json").write_text('[{"start": 0, "text": "y"}]')
    with pytest.raises(TranscriptError, match="video 'a' comes from both"):
        read_transcripts([folder, tmp_path / "a.json"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_transcripts([tmp_path / "missing"])
    (tmp_path / "v.docx").write_text("x")
    with pytest.raises(TranscriptError, match=r"expected a transcript ending in \.txt, \.srt, \.json"):
        read_transcript(tmp_path / "v.docx")


utterance = st.builds(
    Utterance,
    st.one_of(st.none(), st.integers(0, 10 * 3600 * 1000).map(lambda ms: ms / 1000)),
    st.none(),
    st.one_of(st.none(), st.sampled_from(["Q", "A", "Interviewer", "[NAME]"])),
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="#\u0085"),
            min_size=1, max_size=40).map(str.strip).filter(lambda s: s and ": " not in s and not s.startswith("[")),
)


@given(st.lists(utterance, min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_write_then_read_round_trips(tmp_path_factory, utterances):
    path = tmp_path_factory.mktemp("rt") / "v.txt"
    write_transcript(path, Transcript("v", utterances), header="made by a test")
    assert read_transcript(path).utterances == utterances


@given(st.integers(0, 100 * 3600 * 1000))
def test_timestamps_round_trip(ms):
    assert parse_timestamp(format_timestamp(ms / 1000)) == pytest.approx(ms / 1000)


# ----------------------------------------------------------------------------------------------------- masking

def _transcript() -> Transcript:
    return parse_text_transcript(PLAIN, video="match_01")


def test_mask_request_shows_numbered_rows_and_the_words_to_hide():
    request = mask_request(_transcript(), hide_words=["Federer", " "])
    system, user = request.messages[0], request.messages[1]["content"]
    assert system["role"] == "system" and "[OUTCOME]" in user and "exactly 5 rows" in user
    assert "#2 [00:00:07.5] A: Honestly I won the big points. Federer played well." in user
    assert "#5 [-] (applause)" in user and "appear: Federer." in user
    assert request.task == "mask" and request.temperature == 0.0 and request.meta["hide_words"] == ["Federer"]


def test_template_placeholders_are_validated(tmp_path):
    assert validate_template("Mask {transcript} ({n_rows} rows, {row_format}); hide {hide_words}. {{literal}}")
    for template, message in [("Rows: {rows}", r"unknown placeholder \{rows\}"),
                              ("Rows: {}", "positional placeholder"),
                              ("no rows here", r"expected the placeholder \{transcript\}"),
                              ("{transcript!r}", "no conversion or format spec"),
                              ("{transcript", "not a valid template")]:
        with pytest.raises(TemplateError, match=message):
            validate_template(template)
    path = tmp_path / "mine.txt"
    path.write_text("Please anonymise:\n{transcript}\nAnswer as {row_format}; keep {{braces}}.")
    template = load_mask_template(path)
    user = mask_request(_transcript(), template).messages[1]["content"]
    assert user.startswith("Please anonymise:\n#1 [00:00:03]") and "keep {braces}." in user
    path.write_text("{transcript} {speaker}")
    with pytest.raises(TemplateError, match=r"mine\.txt: unknown placeholder \{speaker\}"):
        load_mask_template(path)


def test_parse_mask_answer_tolerates_prose_fences_and_markup():
    answer = """Sure, here is the anonymised transcript:

```text
#1 [00:00:03] Q: How did the final set feel?
- **#2** [00:00:07.5] A: Honestly I [OUTCOME] the big points. [NAME] played well.
#3 [00:00:15] Interviewer: And the crowd?
#4 [00:00:21] A: Great atmosphere, really.
#5 [-] (applause)
```
I replaced one outcome word and one name."""
    result = parse_mask_answer(answer, _transcript())
    masked = result.transcript.utterances
    assert masked[1] == Utterance(7.5, 12.0, "A", "Honestly I [OUTCOME] the big points. [NAME] played well.")
    assert result.changed_timestamps == [3]  # 00:00:15 instead of 00:00:15.25: noted, original time kept
    assert masked[2].start_s == 15.25 and result.matched_by == "number"


def test_parse_mask_answer_by_timestamps_without_numbers():
    t = parse_text_transcript("[00:00:01] Q: a\n[00:00:02] A: we won", video="v")
    result = parse_mask_answer("[00:00:01] Q: a\n[00:00:02] A: we [OUTCOME]", t)
    assert result.matched_by == "timestamp" and result.transcript.utterances[1].text == "we [OUTCOME]"
    with pytest.raises(MaskParseError, match=r"line 2 has \[00:00:05\] where row 2 is at \[00:00:02\]"):
        parse_mask_answer("[00:00:01] Q: a\n[00:00:05] A: we [OUTCOME]", t)


@pytest.mark.parametrize("answer, message", [
    ("#1 [00:00:03] Q: x\n#4 [00:00:21] A: y", r"rows 2-3, 5 missing \(got 2 of 5\)"),
    ("#1 [a] x\n#1 [b] y", r"rows \[1\] appear more than once"),
    ("\n".join(f"#{i} [-] x" for i in range(1, 7)), r"rows \[6\] are not in the transcript"),
    ("I can't help with that.", r"expected 5 rows .* found 0 timestamped lines .* starts \"I can't help"),
    ("", "it is empty"),
])
def test_parse_mask_answer_names_what_is_missing(answer, message):
    with pytest.raises(MaskParseError, match=message):
        parse_mask_answer(answer, _transcript())


def test_leakage_check_flags_rows_and_words():
    t = parse_text_transcript("[0:01] Q: Congratulations on the victory!\n[0:02] A: I won't lie, I beat him.\n"
                              "[0:03] A: Winston and I are friends.\n[0:04] A: It was a WIN for Roger Federer.",
                              video="v")
    hits = check_leakage(t, extra_words=["roger federer"])
    assert [(h.row, h.words) for h in hits] == [(1, ("victory",)), (2, ("beat",)), (4, ("win", "roger federer"))]
    assert hits[0].start_s == 1.0 and hits[0].as_dict()["text"] == "Q: Congratulations on the victory!"
    assert check_leakage(parse_text_transcript("[0:01] A: I was so happy", video="v")) == []
    assert check_leakage(parse_text_transcript("[0:01] A: I was so happy", video="v"),
                         include_emotion_words=True)[0].words == ("happy",)


def test_masking_round_trip_with_the_rule_backend():
    original = _transcript()
    assert [h.row for h in check_leakage(original, ["Federer"])] == [2]
    request = mask_request(original, hide_words=["Federer"])
    answer = RuleBasedBackend().complete(request)
    result = parse_mask_answer(answer, original)
    masked = result.transcript
    assert check_leakage(masked, ["Federer"]) == []
    assert [u.start_s for u in masked.utterances] == [u.start_s for u in original.utterances]
    assert masked.utterances[1].text == "Honestly I [OUTCOME] the big points. [NAME] played well."
    assert masked.utterances[3].text == "Great atmosphere, really."
