"""The recognizer on OCR lines (boxes, hashes, labels kept) and on header free text (clean_text), and
its bad-input behaviour: empty OCR, non-ASCII, very long lines, failures that quarantine."""

from __future__ import annotations

import random
import time

import pytest

from tests.test_phi_support import CHAR_WIDTH, HEIGHT, KEYRING, RECOGNIZER, header_rows, line_of
from transforms.phi import PhiDictionary, PhiRecognizer, RecognizerError, RecognizerSettings
from transforms.text_types import Box, OcrWord, TextLine

DICTIONARY = PhiDictionary.from_header_elements(header_rows(
    PatientName=("PN", "Doe^John"), PatientID=("LO", "00012345"), PatientBirthDate=("DA", "19760616"),
    InstitutionName=("LO", "Lakeside Regional")))


def test_a_value_after_a_label_gives_the_value_words_boxes_only():
    line = line_of("Patient ID: 00012345", top=40, left=8)
    spans = RECOGNIZER.find_phi_in_lines([line], DICTIONARY)
    value_box = line.words[2].box
    assert [s.boxes for s in spans] == [(value_box,)]
    assert spans[0].category == "ID" and spans[0].source == "dictionary"


def test_a_name_over_two_words_gives_the_union_of_their_boxes():
    line = line_of("DOE JOHN kVp 120")
    spans = RECOGNIZER.find_phi_in_lines([line], DICTIONARY)
    expected = line.words[0].box.union(line.words[1].box)
    assert [s.boxes for s in spans] == [(expected,)]


def test_text_hash_is_the_keyed_hash_of_the_span_text():
    line = line_of("DOB: 06/16/1976")
    spans = RECOGNIZER.find_phi_in_lines([line], DICTIONARY)
    assert [s.text_hash for s in spans] == [KEYRING.hexdigest("ocr-text", "06/16/1976")]


def test_a_label_glued_to_its_value_keeps_the_label_part_of_the_box():
    line = line_of("ID:4455667")
    spans = RECOGNIZER.find_phi_in_lines([line], DICTIONARY)
    word = line.words[0].box
    box = spans[0].boxes[0]
    label_right = word.left + 2 * CHAR_WIDTH          # "ID" stays visible; ":" may be covered
    assert box.left >= label_right and box.right == word.right and box.height == HEIGHT


def test_each_line_gets_its_own_spans_and_non_phi_lines_none():
    lines = [line_of("DOE, JOHN", top=0), line_of("kVp 120", top=20), line_of("W:400 L:40", top=40),
             line_of("Lakeside Regional", top=60), line_of("R", top=80)]
    spans = RECOGNIZER.find_phi_in_lines(lines, DICTIONARY)
    assert sorted(s.boxes[0].top for s in spans) == [0, 60]


def test_words_far_apart_are_separate_fields():
    """A label value ends at a wide gap: the next overlay item is not part of the name."""
    near = line_of("Name: Ann Lee")
    far_word = OcrWord("Portable", 90.0, Box(near.region.right + 20 * HEIGHT, 0, 80, HEIGHT), 0, 3)
    line = TextLine(near.region.union(far_word.box), near.words + (far_word,))
    spans = RECOGNIZER.find_phi_in_lines([line], None)
    assert len(spans) == 1 and spans[0].boxes[0].right < far_word.box.left


def test_empty_ocr_output_gives_no_spans():
    empty_words = TextLine(Box(0, 0, 10, 10), (OcrWord("", 0.0, Box(0, 0, 5, 5), 0, 0),
                                               OcrWord("  ", 0.0, Box(5, 0, 5, 5), 0, 1)))
    assert RECOGNIZER.find_phi_in_lines([], DICTIONARY) == []
    assert RECOGNIZER.find_phi_in_lines([TextLine(Box(0, 0, 10, 10))], DICTIONARY) == []
    assert RECOGNIZER.find_phi_in_lines([empty_words], DICTIONARY) == []
    assert RECOGNIZER.clean_text("", DICTIONARY) == ""


def test_non_ascii_text_is_handled():
    dictionary = PhiDictionary.from_header_elements(header_rows(PatientName=("PN", "Øvergård^Zoë")))
    lines = [line_of("ØVERGÅRD, ZOË"), line_of("Ω 5 мм ✓ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", top=20), line_of("Zoe Overgard", top=40)]
    spans = RECOGNIZER.find_phi_in_lines(lines, dictionary)
    assert sorted(s.boxes[0].top for s in spans) == [0, 40]


def test_very_long_lines_are_recognised_within_a_time_bound():
    rng = random.Random(5)
    vocabulary = ["kVp", "120", "Se", "2", "Im", "14", "W:400", "L:40", "AX", "T2", "5.0", "mm", "John", "xq"]
    filler = " ".join(rng.choice(vocabulary) for _ in range(2200))[:10_000]
    text = filler[:5000] + " DOB: 06/16/1976 " + filler[5000:]
    worst = ["A" * 10_000, "1" * 10_000, "Aa" * 5_000, "a^" * 5_000, ("Hospital " * 1200)[:10_000],
             ("12:30 " * 2000)[:10_000], ("x@" * 5000)]
    started = time.perf_counter()
    found = RECOGNIZER.find_phi_in_text(text, DICTIONARY)
    for line in worst:
        RECOGNIZER.find_phi_in_text(line, DICTIONARY)
    elapsed = time.perf_counter() - started
    assert any(c.category == "DATE" for c in found)
    assert elapsed < 10.0, f"long lines took {elapsed:.1f} s"


def test_a_failing_frame_raises_a_reason_without_text():
    no_boxes = (OcrWord("DOE", 90.0, None, 0, 0), OcrWord("JOHN", 90.0, None, 0, 1))   # unusable OCR output
    with pytest.raises(RecognizerError) as caught:
        RECOGNIZER.find_phi_in_lines([TextLine(Box(0, 0, 1, 1), no_boxes)], DICTIONARY)
    assert caught.value.reason == "recognizer_failed" and "DOE" not in str(caught.value)
    with pytest.raises(RecognizerError) as caught:
        RECOGNIZER.find_phi_in_lines([TextLine(Box(0, 0, 1, 1), (OcrWord(b"DOE", 90.0, Box(0, 0, 1, 1), 0, 0),))],
                                     DICTIONARY)
    assert caught.value.reason == "invalid_ocr_line"
    with pytest.raises(RecognizerError):
        RECOGNIZER.clean_text(None, DICTIONARY)


def test_clean_text_replaces_phi_and_keeps_the_rest():
    text = "CT HEAD for John Doe, DOB 06/16/1976\nMRN: 00012345 | 5.0 mm AX\\Lakeside Regional"
    cleaned = RECOGNIZER.clean_text(text, DICTIONARY)
    assert cleaned == "CT HEAD for [NAME], DOB [DATE]\nMRN: [ID] | 5.0 mm AX\\[INSTITUTION]"


def test_clean_text_and_pixels_agree_on_what_is_phi():
    text = "Ref: Dr. Gray 2023-03-02 kVp 120"
    chunks = RECOGNIZER.find_phi_in_text(text, None)
    spans = RECOGNIZER.find_phi_in_lines([line_of(text)], None)
    assert [text[c.start:c.end] for c in chunks] == ["Gray", "2023-03-02"]
    assert len(spans) == len(chunks)
    assert RECOGNIZER.clean_text(text, None) == "Ref: Dr. [NAME] [DATE] kVp 120"


def test_replacement_is_a_setting():
    recognizer = PhiRecognizer(RecognizerSettings(replacement="***"), keyring=KEYRING)
    assert recognizer.clean_text("DOB: 1970-01-02", None) == "DOB: ***"


def test_stricter_edit_bounds_reject_a_noisy_match():
    strict = PhiRecognizer(RecognizerSettings(edit_bounds=((99, 0),), long_edits=0), keyring=KEYRING)
    noisy = "Lakeside Regiomal"
    assert RECOGNIZER.find_phi_in_text(noisy, DICTIONARY) and not strict.find_phi_in_text(noisy, DICTIONARY)


def test_the_dictionary_and_spans_never_print_phi():
    spans = RECOGNIZER.find_phi_in_lines([line_of("DOE JOHN 00012345")], DICTIONARY)
    printed = repr(DICTIONARY) + repr(spans)
    assert all(secret not in printed.upper() for secret in ("DOE", "JOHN", "12345", "LAKESIDE"))


def test_per_file_callables_from_bronze_rows():
    """What the Spark steps call: rows as Spark's array<struct> arrives in pandas (dicts, any key order)."""
    from transforms.phi import build_phi_finder, build_text_cleaner

    rows = [{"element_path": "00100010", "keyword": "PatientName", "vr": "PN", "value": "Doe^John"},
            {"element_path": "00100020", "keyword": "PatientID", "vr": "LO", "value": "00012345"}]
    find_phi = build_phi_finder(rows, KEYRING)
    spans = find_phi([line_of("Patient ID: 12345"), line_of("kVp 120", top=20)])
    assert [(s.category, s.boxes[0].top) for s in spans] == [("ID", 0)]
    assert build_text_cleaner(rows)("Follow-up of John Doe") == "Follow-up of [NAME]"
    with pytest.raises(RecognizerError):
        build_phi_finder([("PatientName",)], KEYRING)
