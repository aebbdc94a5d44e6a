"""Selective redaction keeps only text known to be safe; everything else in a text line is filled."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydicom.uid import ExplicitVRLittleEndian

from transforms.keyring import Keyring
from transforms.phi import build_phi_finder
from transforms.pixels.analyze import find_text
from transforms.pixels.frames import PixelInfo
from transforms.pixels.ocr import OcrCache, WordRereadingLine
from transforms.pixels.redact import redact_regions
from transforms.phi.safe_text import (is_safe_word, is_settled_reading, kept_after_second_reading, safe_mask,
                                      stretches_worth_reading_again)
from transforms.redaction_policy import boxes_to_fill
from transforms.text_types import Box, OcrWord, PhiSpan, TextLine
from transforms.synth.fonts import FONT_FILES

FONT = FONT_FILES["DejaVuSansMono"]


def word(text: str, left: int, confidence: float = 95.0) -> OcrWord:
    return OcrWord(text, confidence, Box(left, 10, 8 * len(text), 12), 0, 0)


def covered(boxes: list[Box], target: Box) -> float:
    mask = np.zeros((64, 512), bool)
    for b in boxes:
        mask[b.top:b.bottom, b.left:b.right] = True
    return mask[target.top:target.bottom, target.left:target.right].mean()


@pytest.mark.parametrize("text", ["L", "R", "(A)", "5.0mm", "120", "3/30", "W:400", "L:40", "kVp", "mAs",
                                  "fps", "Frame", "AX", "T2", "FLAIR", "59%", "DOB:", "Acc#", "ID:",
                                  "W:1200", "L:-600", "fps”", "Se:12", "Sellmi", "1Im2", ",Acc#", "DOB;",
                                  "D.O.B:"])
def test_radiology_text_is_safe(text):
    assert is_safe_word(word(text, 0))


@pytest.mark.parametrize("text", ["00335664", "HOWELL", "Jennifer", "19760616", "06/16/1976", "A2020625924",
                                  "Klinikum", "2259", "Sep", "Selim", "|", "“", "Pat:4412", "ID:40", "Rm:12", "Gitta;",
                                  "12/02", "13/6", "0/8", "B:"])
def test_values_names_and_unknown_words_are_not_safe(text):
    assert not is_safe_word(word(text, 0))


def test_a_safe_looking_word_read_with_low_confidence_is_not_trusted():
    assert not is_safe_word(word("kVp", 0, confidence=30))


def test_a_number_with_a_mark_for_a_unit_needs_a_technique_word_before_it_or_a_line_to_itself():
    """"%" and "°" are what OCR makes of a digit as often as they are units: "315°" after a misread
    "ID:" is the identifier, "30°" after "LAO" an angle."""
    assert safe_mask([word("WD:", 10), word("315°", 40)]) == [False, False]
    assert safe_mask([word("LAO", 10), word("30°", 40)]) == [True, True]
    assert safe_mask([word("Gain", 10), word("59%", 50)]) == [True, True]
    assert safe_mask([word("59%", 10)]) == [True]


def test_a_unit_right_after_a_trusted_number_is_kept_at_lower_confidence():
    number, unit = word("7.5", 10), word("fps", 40, confidence=40)
    assert safe_mask([number, unit]) == [True, True]
    assert safe_mask([word("Gitta", 10), unit]) == [False, False]


def test_a_bare_number_is_kept_only_as_a_setting_a_measurement_or_alone():
    assert safe_mask([word("kVp", 10), word("120", 40)]) == [True, True]
    assert safe_mask([word("TIS", 10), word("0.6", 40)]) == [True, True]
    assert safe_mask([word("120", 10)]) == [True]                       # alone in its line: a scale label
    assert safe_mask([word("120", 10)], line_width=30) == [True]
    assert safe_mask([word("1", 239)], line_width=101) == [False]      # one digit of a wide line OCR missed
    assert safe_mask([word("5.0", 10), word("mn", 40)]) == [True, True]     # a unit one letter off
    assert safe_mask([word("5.0", 10), word("mn", 40, confidence=20)]) == [False, False]
    # What OCR makes of a date or an identifier: the numbers are not vouched for by their neighbours.
    assert safe_mask([word("Dor", 10), word("59", 40), word("Feb", 60), word("20", 90)]) == [False] * 4
    assert safe_mask([word("00", 10), word("254", 120)]) == [False, False]       # the middle was skipped
    assert safe_mask([word("DOB:", 10), word("12", 50)]) == [True, False]        # a label vouches for nothing
    assert safe_mask([word("MR", 10), word("No", 30), word("123", 50)]) == [True, True, False]
    assert safe_mask([word("12", 10), word("Mai", 40)])[0] is False      # "Mai" is one letter from "mA"


def test_digit_groups_a_space_apart_are_one_number():
    """A phone number's middle group is not a safe three-digit setting, even after a technique word."""
    assert safe_mask([word("210", 10), word("344", 45), word("9401", 80)]) == [False, False, False]
    assert safe_mask([word("Se", 10), word("345", 30), word("678", 60)]) == [True, False, False]


def test_a_label_whose_colon_is_read_apart_is_still_a_label():
    assert safe_mask([word("ID", 10), word("|", 30), word("00335664", 45)]) == [True, False, False]
    # Without its colon a label is still one at the start of its line (issue 22: labels kept); the value is not.
    assert safe_mask([word("ID", 10), word("00335664", 45)]) == [True, False]


def test_a_label_misread_by_one_letter_is_kept_only_where_a_label_starts_a_line():
    assert safe_mask([word("DOR:", 10), word("Oct", 50)]) == [True, False]
    assert safe_mask([word("Ace:", 10), word("RAD-10-72901", 50)]) == [True, False]
    assert safe_mask([word("Oct", 10), word("DOR:", 50)]) == [False, False]
    assert safe_mask([word("Dor", 10), word("Oct", 50)]) == [False, False]     # no colon: a word, not a label


def test_a_measurement_is_kept_when_its_number_or_its_unit_is_misread():
    """Small "25.9 mm" labels: a unit read clearly vouches for a weak or speck-prefixed number before
    it, and a decimal number for a small unit two letters off; neither vouches for a value or a name."""
    assert safe_mask([word("#259", 10, confidence=52), word("mm", 50)]) == [True, True]
    assert safe_mask([word("(259", 10, confidence=61), word("mm", 50)]) == [True, True]
    assert safe_mask([word("5.9", 10, confidence=32), word("mm", 50)]) == [True, True]
    assert safe_mask([word("#259", 10, confidence=52), word("mm", 50, confidence=70)])[0] is False
    assert safe_mask([word("Smith", 10, confidence=52), word("mm", 60)])[0] is False
    assert safe_mask([word("0053853740", 10, confidence=52), word("mm", 110)])[0] is False
    assert safe_mask([word("55.4", 10), word("mama", 50, confidence=58)]) == [True, True]
    assert safe_mask([word("55", 10), word("mama", 40, confidence=58)]) == [False, False]     # not decimal
    assert safe_mask([word("55.4", 10), word("Ana", 50, confidence=58)])[1] is False         # capitalised


def test_a_technique_word_spelt_exactly_and_its_number_are_kept_at_a_lower_confidence():
    assert safe_mask([word("MI", 10, confidence=42), word("1.3", 30, confidence=42)]) == [True, True]
    assert safe_mask([word("TIS:", 10, confidence=41), word("0.2", 50, confidence=45)]) == [True, True]
    assert safe_mask([word("MI", 10, confidence=35), word("1.3", 30, confidence=42)]) == [False, False]
    assert safe_mask([word("Smith", 10, confidence=45), word("13", 60, confidence=45)]) == [False, False]
    assert safe_mask([word("W", 10, confidence=45)]) == [False]          # one letter: not at this confidence
    assert safe_mask([word("Gitta", 10), word("fps", 40, confidence=45)]) == [False, False]   # no number after
    assert safe_mask([word("Se", 10, confidence=49), word("1", 30, confidence=49), word("Im", 45, confidence=92),
                      word("3", 70, confidence=95)]) == [True] * 4


def test_a_label_spelt_exactly_is_kept_at_a_lower_confidence_than_a_value():
    assert safe_mask([word("Acc#", 10, confidence=53), word("0053853740", 50)]) == [True, False]
    assert safe_mask([word("Acc#", 10, confidence=30), word("0053853740", 50)]) == [False, False]
    assert safe_mask([word("Acme:", 10, confidence=53), word("0053853740", 60)]) == [False, False]
    # Six letters or more spelt exactly with the colon are evidence enough whatever the confidence.
    assert safe_mask([word("Accession:", 10, confidence=24), word("E7865462", 100)]) == [True, False]
    assert safe_mask([word("Accessian:", 10, confidence=24), word("E7865462", 100)]) == [False, False]
    assert safe_mask([word("Hospital", 10, confidence=24), word("General", 80, confidence=24)]) == [False, False]


def test_a_lone_mark_is_kept_unread_but_a_short_piece_of_a_line_is_not():
    """A ruler number alone at the edge (OCR read it as noise) stays; the same glyph-sized region right
    after a value in its band is filled, and so is a lone mark a PHI span covers."""
    ruler = TextLine(Box(480, 20, 12, 13), (word("Ei", 480, confidence=40),))
    value = TextLine(Box(300, 40, 90, 13), (word("0053853740", 300),))
    tail = Box(392, 40, 12, 13)                                      # unread, right after the value
    boxes = boxes_to_fill([ruler, value], [tail], [], "phi", 64, 512)
    assert covered(boxes, ruler.region) == 0.0
    assert covered(boxes, tail) == 1.0 and covered(boxes, value.region) == 1.0
    span = PhiSpan("AGE", "pattern", 1.0, (ruler.region,), "h")
    assert covered(boxes_to_fill([ruler], [], [span], "phi", 64, 512), ruler.region) == 1.0
    interior = Box(250, 26, 12, 13)         # the visible end of a string whose rest escaped detection
    assert covered(boxes_to_fill([], [interior], [], "phi", 64, 512), interior) == 1.0


def test_label_kept_value_filled_and_unread_regions_filled():
    line = TextLine(Box(5, 8, 300, 16), (word("Patient", 10), word("ID:", 70), word("00335664", 100),
                                         word("kVp", 180), word("120", 210)))
    unread = Box(400, 30, 50, 12)
    boxes = boxes_to_fill([line], [unread], [], "phi", 64, 512)
    assert covered(boxes, line.words[2].box) == 1.0
    assert covered(boxes, line.words[0].box) == covered(boxes, line.words[1].box) == 0.0
    assert covered(boxes, line.words[3].box) == covered(boxes, line.words[4].box) == 0.0
    assert covered(boxes, unread) == 1.0


def test_a_phi_span_overrides_safe_vocabulary():
    line = TextLine(Box(5, 8, 100, 16), (word("Head", 10),))    # a surname that is also a body part
    span = PhiSpan("NAME", "dictionary", 1.0, (line.words[0].box,), "h")
    assert covered(boxes_to_fill([line], [], [span], "phi", 64, 512), line.words[0].box) == 1.0


def test_all_mode_fills_every_region():
    line = TextLine(Box(5, 8, 100, 16), (word("kVp", 10), word("120", 50)))
    assert covered(boxes_to_fill([line], [], [], "all", 64, 512), line.region) == 1.0


def test_real_ocr_keeps_the_label_and_removes_the_value(monkeypatch):
    """Rendered text, real Tesseract, the real recognizer with a header dictionary."""
    monkeypatch.setenv("DEIDLAKE_MODE", "test")
    image = Image.new("L", (512, 64), 0)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 18)
    draw.text((10, 20), "Patient ID:", font=font, fill=255)
    value_left = 10 + int(draw.textlength("Patient ID: ", font=font))
    draw.text((value_left, 20), "00335664", font=font, fill=255)
    frame = np.asarray(image, dtype=np.uint8)
    info = PixelInfo(rows=64, columns=512, frames=1, samples_per_pixel=1, bits_allocated=8, bits_stored=8,
                     pixel_representation=0, photometric="MONOCHROME2", planar_configuration=0,
                     transfer_syntax=ExplicitVRLittleEndian)
    found = find_text([(0, frame)], info, None, OcrCache())[0]
    find_phi = build_phi_finder([{"keyword": "PatientID", "vr": "LO", "value": "00335664",
                                  "element_path": "00100020", "tag": "00100020"}], Keyring.from_env())
    boxes = boxes_to_fill(found.lines, [], find_phi(found.lines), "phi", 64, 512)
    redacted = redact_regions(frame, boxes, info, padding=0)
    value = redacted[18:42, value_left:value_left + 80]
    label = redacted[18:42, 10:value_left - 14]
    assert (value == value.min()).mean() > 0.95, "the ID value is still visible"
    assert np.array_equal(label, frame[18:42, 10:value_left - 14]), "the label was touched"


def test_a_window_level_pair_keeps_its_weak_second_half_and_digit_look_alikes_spell_a_label():
    assert safe_mask([word("W:400", 10, confidence=87), word("L:40", 60, confidence=40)]) == [True, True]
    assert safe_mask([word("W:400", 10, confidence=87), word("ID:40", 60, confidence=45)]) == [True, False]
    assert safe_mask([word("W:400", 10, confidence=50), word("L:40", 60, confidence=40)]) == [False, False]
    assert safe_mask([word("1D:", 10, confidence=71), word("31", 50)]) == [True, False]     # "ID:"
    assert safe_mask([word("D0B:", 10, confidence=45), word("12", 50)]) == [True, False]
    assert safe_mask([word("10:", 10, confidence=90), word("45", 50)]) == [False, False]    # digits: a time


def flags(*indices: int, length: int) -> list[bool]:
    return [i in indices for i in range(length)]


def test_only_unsafe_words_at_a_label_setting_or_measurement_place_are_read_again():
    label_line = [word("Die", 10, confidence=42), word("24-Sep-1960", 50)]
    assert stretches_worth_reading_again(label_line, safe_mask(label_line), flags(1, length=2)) == [(0, 0)]
    assert stretches_worth_reading_again(label_line, safe_mask(label_line), flags(length=2)) == []   # no PHI
    named = [word("HOWELL", 10, confidence=94), word("24-Sep-1960", 70)]       # read confidently: as read
    assert stretches_worth_reading_again(named, safe_mask(named), flags(1, length=2)) == []
    flagged_first = [word("Doe,", 10, confidence=42), word("John", 50)]
    assert stretches_worth_reading_again(flagged_first, safe_mask(flagged_first), flags(0, 1, length=2)) == []
    setting = [word("jp", 10, confidence=80), word("98", 40)]
    assert stretches_worth_reading_again(setting, safe_mask(setting), flags(length=2)) == [(0, 0)]
    measurement = [word("2259", 10, confidence=29), word("mm", 50, confidence=96)]
    assert stretches_worth_reading_again(measurement, safe_mask(measurement), flags(length=2)) == [(0, 0)]
    next_setting = [word("TR", 10), word("647", 40), word("TRAN", 80, confidence=44)]
    assert stretches_worth_reading_again(next_setting, safe_mask(next_setting), flags(length=3)) == [(2, 2)]
    split = [word("~", 10, confidence=17), word("tient", 30, confidence=26), word("ID:", 80), word("836", 110)]
    assert stretches_worth_reading_again(split, safe_mask(split), flags(3, length=4)) == [(0, 2)]
    specks = [word("|", 10, confidence=50), word("59", 40)]                     # no letter or digit
    assert stretches_worth_reading_again(specks, safe_mask(specks), flags(length=2)) == []


def test_a_second_reading_keeps_a_label_only_where_it_announces_phi_and_never_the_value():
    line = [word("Die", 10, confidence=42), word("24-Sep-1960", 50)]
    dob = word("DOB:", 8, confidence=90)
    kept = kept_after_second_reading(line, flags(1, length=2), 0, 0, [dob])
    assert list(kept) == [0] and kept[0].text == "DOB:"
    assert (kept[0].box.left, kept[0].box.right) == (10, 34)                    # within both readings' boxes
    assert kept_after_second_reading(line, flags(length=2), 0, 0, [dob]) == {}          # no PHI after it
    assert kept_after_second_reading(line, flags(1, length=2), 0, 0, [word("DOB", 8, confidence=95)]) == {}
    assert kept_after_second_reading(line, flags(1, length=2), 0, 0, [word("DOR:", 8, confidence=95)]) == {}
    assert kept_after_second_reading(line, flags(1, length=2), 0, 0, [word("DOB:", 8, confidence=30)]) == {}
    assert kept_after_second_reading(line, flags(1, length=2), 0, 0, [word("DOB:", 200)]) == {}     # elsewhere
    later = [word("12", 10), word("Die", 40, confidence=42), word("24-Sep-1960", 80)]
    assert kept_after_second_reading(later, flags(2, length=3), 1, 1, [word("DOB:", 40)]) == {}     # not first


def test_a_second_reading_keeps_a_setting_with_its_number_and_a_measurement_before_its_unit():
    line = [word("jp", 10, confidence=80), word("98", 40)]
    kept = kept_after_second_reading(line, flags(length=2), 0, 0, [word("kVp", 10, confidence=85)])
    assert sorted(kept) == [0, 1] and kept[0].text == "kVp" and kept[1] is line[1]
    assert kept_after_second_reading(line, flags(length=2), 0, 0, [word("kVp", 10, confidence=50)]) == {}
    assert kept_after_second_reading(line, flags(length=2), 0, 0, [word("Kim", 10, confidence=95)]) == {}
    run_on = [word("TR", 10), word("647", 40), word("TRAN", 80, confidence=44)]
    reading = [word("TE", 80, confidence=80), word("113", 100, confidence=85)]
    kept = kept_after_second_reading(run_on, flags(length=3), 2, 2, reading)
    assert list(kept) == [2] and (kept[2].box.left, kept[2].box.right) == (80, 112)   # "TRAN"'s box only
    measurement = [word("2259", 10, confidence=29), word("mm", 50, confidence=96)]
    assert list(kept_after_second_reading(measurement, flags(length=2), 0, 0, [word("25.9", 10)])) == [0]
    assert kept_after_second_reading(measurement, flags(length=2), 0, 0, [word("Smith", 10)]) == {}


def test_a_label_split_across_words_is_kept_when_read_again_as_one_phrase_before_the_value():
    line = [word("~", 10, confidence=17), word("tient", 30, confidence=26), word("ID:", 80), word("836", 110)]
    reading = [word("Patient", 12, confidence=76), word("ID:", 80, confidence=96)]
    kept = kept_after_second_reading(line, flags(3, length=4), 0, 2, reading)
    assert list(kept) == [0] and (kept[0].box.left, kept[0].box.right) == (12, 104)
    assert kept_after_second_reading(line, flags(length=4), 0, 2, reading) == {}            # no value after
    extra = reading + [word("836", 110, confidence=95)]
    assert kept_after_second_reading(line, flags(3, length=4), 0, 2, extra) == {}           # more than a label
    weak = [word("Patient", 12, confidence=30), word("ID:", 80, confidence=96)]
    assert kept_after_second_reading(line, flags(3, length=4), 0, 2, weak) == {}


class Rereads:
    """`read_words_again` for a made-up line: the readings it would give, and what was asked."""

    def __init__(self, readings: dict[tuple[int, int], list[list[OcrWord]]]):
        self.readings, self.asked, self.made = readings, [], 0

    def __call__(self, first: int, last: int):
        self.asked.append((first, last))
        for reading in self.readings.get((first, last), []):
            self.made += 1
            yield tuple(reading)


def test_the_policy_reads_again_only_where_it_may_help_and_stops_at_the_first_reading_that_does():
    words = (word("Die", 10, confidence=42), word("24-Sep-1960", 50), word("kVp", 200), word("98", 230))
    rereads = Rereads({(0, 0): [[word("oe", 10, confidence=20)], [word("DOB:", 9, confidence=90)],
                                [word("DOB:", 9, confidence=97)]]})
    line = WordRereadingLine(Box(5, 8, 300, 16), words, rereads)
    span = PhiSpan("DATE", "pattern", 1.0, (words[1].box,), "h")
    boxes = boxes_to_fill([line], [], [span], "phi", 64, 512)
    assert rereads.asked == [(0, 0)] and rereads.made == 2                     # lazily, until one helps
    assert covered(boxes, words[0].box) == 0.0 and covered(boxes, words[1].box) == 1.0
    assert covered(boxes, words[2].box) == covered(boxes, words[3].box) == 0.0
    plain = TextLine(line.region, words)                                        # no second reading possible
    assert covered(boxes_to_fill([plain], [], [span], "phi", 64, 512), words[0].box) == 1.0
    unhelpful = Rereads({(0, 0): [[word("2016", 10, confidence=96)], [word("DOB:", 9, confidence=97)]]})
    boxes = boxes_to_fill([WordRereadingLine(line.region, words, unhelpful)], [], [span], "phi", 64, 512)
    assert unhelpful.made == 1 and covered(boxes, words[0].box) == 1.0        # a confident reading settles it
    assert is_settled_reading([word("2016", 10, confidence=96)]) and not is_settled_reading([])


def test_an_initial_is_not_the_technique_word_or_marker_it_spells():
    assert not is_safe_word(word("Z.", 0)) and not is_safe_word(word("L.", 0))
    assert is_safe_word(word("Z", 0)) and is_safe_word(word("L", 0))


def test_a_word_another_reading_spells_safely_is_kept_unless_this_reading_vouches_otherwise():
    """The line's chosen reading made garbage of a thin label that a losing reading (another view or
    preparation) spelt: the label is kept, the value after it is filled all the same."""
    chosen = (word("wer", 10, confidence=66), word("Tlustek", 60, confidence=40))
    other = (word("Name:", 10, confidence=93), word("Z.", 60, confidence=93), word("7ooonpag", 80, confidence=0))
    line = WordRereadingLine(Box(5, 8, 200, 16), chosen, None, (other,))
    boxes = boxes_to_fill([line], [], [], "phi", 64, 512)
    assert covered(boxes, other[0].box) == 0.0 and covered(boxes, chosen[1].box) == 1.0
    assert covered(boxes, other[1].box) == 1.0                                     # an initial is PHI
    flagged = PhiSpan("NAME", "dictionary", 1.0, (chosen[0].box,), "h")
    assert covered(boxes_to_fill([line], [], [flagged], "phi", 64, 512), other[0].box) == 1.0
    confident = WordRereadingLine(line.region, (word("Gitta", 10, confidence=96),), None, (other,))
    assert covered(boxes_to_fill([confident], [], [], "phi", 64, 512), other[0].box) == 1.0
    # The same word read the same way is no contradiction: the other reading only gives it its unit.
    number = WordRereadingLine(line.region, (word("6.625", 10, confidence=91), word("a0", 60, confidence=61)),
                               None, ((word("6.625", 10, confidence=71), word("mm", 60, confidence=70)),))
    assert covered(boxes_to_fill([number], [], [], "phi", 64, 512), number.words[0].box) == 0.0


@pytest.mark.parametrize("text", ["a", "1", "315°", "2%", "“s"])
def test_another_reading_never_vouches_for_a_lone_character_or_a_digit_read_as_a_symbol(text):
    chosen = (word("sl", 10, confidence=35),)
    line = WordRereadingLine(Box(5, 8, 200, 16), chosen, None, ((word(text, 10, confidence=90),),))
    assert covered(boxes_to_fill([line], [], [], "phi", 64, 512), chosen[0].box) == 1.0


@pytest.mark.parametrize("words, expected", [
    (["Patient", "ID"], [True, True]),                               # the dictionary's name, no colon
    (["PATIENT'S", "BIRTH", "DATE"], [True, True, True]),            # with its possessive, any case
    (["Institution", "Name", "General", "Hospital"], [True, True, False, False]),
    (["DOB", "1961"], [True, False]),                                # an abbreviation before its value
    (["Hosp", "No", "404465806"], [True, True, False]),              # words of a phrase abbreviated
    (["Acquisition", "Time", "08:23"], [True, True, False]),         # a dictionary name before a number
    (["BRTHDATE"], [True]),                                          # one letter lost in a long label word
    (["Priority", "Health"], [False, False]),                        # a single dictionary word is no label
    (["Dame"], [False]),                                             # nor a short word one letter off "Name"
    (["Nielsen,", "Jimenez"], [False, False]),
    (["Patient", "Position", "HFS"], [True, False, False]),
])
def test_field_labels_are_kept_with_or_without_their_colon(words, expected):
    line = [word(text, 60 * k) for k, text in enumerate(words)]
    assert safe_mask(line) == expected


def test_a_label_word_read_at_low_confidence_is_kept_only_within_a_long_phrase():
    assert safe_mask([word("Institution", 0, 96), word("Name", 100, 24)]) == [True, True]
    assert safe_mask([word("DOB", 0, 45)]) == [False]


def test_a_marker_letter_after_a_label_or_an_unread_word_is_a_value():
    assert safe_mask([word("Sex:", 0), word("F", 40)]) == [True, False]
    assert safe_mask([word("Genderf", 0), word("F", 70)]) == [False, False]
    assert safe_mask([word("AP", 0), word("(L)", 30)]) == [True, True]


def test_a_value_in_its_own_box_beside_or_under_its_label_is_filled():
    """'SEX' then 'M' (or 'Age' then '46') in separate boxes: the value is not a lone orientation marker
    nor a scale label, whatever its shape."""
    label = TextLine(Box(4, 10, 30, 14), (OcrWord("SEX", 97, Box(5, 12, 26, 10), 0, 0),))
    under = TextLine(Box(4, 26, 14, 14), (OcrWord("M", 92, Box(5, 28, 10, 10), 1, 0),))
    beside = TextLine(Box(50, 10, 14, 14), (OcrWord("46", 93, Box(51, 12, 12, 10), 2, 0),))
    age = TextLine(Box(4, 10, 30, 14), (OcrWord("Age", 97, Box(5, 12, 26, 10), 0, 0),))
    assert covered(boxes_to_fill([label, under], [], [], "phi", 64, 512), under.words[0].box) == 1.0
    assert covered(boxes_to_fill([age, beside], [], [], "phi", 64, 512), beside.words[0].box) == 1.0
    assert covered(boxes_to_fill([under], [], [], "phi", 64, 512), under.words[0].box) == 0.0    # alone: a marker


def test_a_value_right_aligned_under_its_label_or_far_along_its_band_is_filled():
    """Overlays align values in a column: 'pat sex' over an 'M' flush with its right edge, or 'Sex:' with
    its 'F' twenty label heights along the band. Before the fix both letters were kept as lone markers."""
    label = TextLine(Box(440, 10, 60, 14), (OcrWord("pat", 96, Box(441, 12, 24, 10), 0, 0),
                                           OcrWord("sex", 96, Box(470, 12, 28, 10), 0, 1)))
    under = TextLine(Box(486, 26, 14, 14), (OcrWord("M", 92, Box(487, 28, 10, 10), 1, 0),))
    sex = TextLine(Box(4, 10, 30, 14), (OcrWord("Sex:", 97, Box(5, 12, 26, 10), 0, 0),))
    far = TextLine(Box(300, 10, 14, 14), (OcrWord("F", 93, Box(301, 12, 10, 10), 2, 0),))
    assert covered(boxes_to_fill([label, under], [], [], "phi", 64, 512), under.words[0].box) == 1.0
    assert covered(boxes_to_fill([sex, far], [], [], "phi", 64, 512), far.words[0].box) == 1.0
    assert covered(boxes_to_fill([label, under], [], [], "phi", 64, 512), label.words[1].box) == 0.0  # label kept
