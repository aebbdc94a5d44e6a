"""Metadata-assisted matching: the header's own PHI values found in every rendering an image or a
report may use, tolerant to OCR errors, and nothing else."""

from __future__ import annotations

import io
import json
from importlib import resources

import pydicom
import pytest
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.conftest import PRESIDIO_SAMPLES
from tests.test_phi_support import flagged_parts, header_rows, is_fully_flagged, is_untouched
from transforms.phi import PhiDictionary
from transforms.phi.sources import EXCLUDED, KEYWORD_CATEGORIES, VR_CATEGORIES

HEADER = PhiDictionary.from_header_elements(header_rows(
    PatientName=("PN", "Doe^John^Quincy"), PatientID=("LO", "00012345"), PatientBirthDate=("DA", "19760616"),
    AccessionNumber=("SH", "A2023000123"), StudyDate=("DA", "20230302"), StudyTime=("TM", "085957.123"),
    PatientAge=("AS", "047Y"), InstitutionName=("LO", "Lakeside Regional"),
    InstitutionAddress=("ST", "12 Birch Row, 4021 Kettering"), ReferringPhysicianName=("PN", "Smythe^Ann"),
    PatientTelephoneNumbers=("SH", "555 0101 2323"), StationName=("SH", "CTNORTH7"),
))

NAME_RENDERINGS = {"pn": "DOE^JOHN", "given_family": "John Doe", "family_comma_given": "Doe, John",
                   "upper_no_comma": "DOE JOHN", "initial_family": "J. Doe", "family_initial": "DOE J",
                   "with_middle": "John Quincy Doe", "middle_initial": "Doe, John Q.", "family_alone": "DOE",
                   "given_alone": "John", "referring": "Ann Smythe"}


@pytest.mark.parametrize("form", sorted(NAME_RENDERINGS))
def test_name_renderings_are_flagged(form):
    value = NAME_RENDERINGS[form]
    ok = is_fully_flagged(f"X {value} 5.0 mm", value, HEADER) and is_untouched(f"X {value} 5.0 mm", "5.0 mm", HEADER)
    assert ok, f"name rendering {form} not flagged (or its neighbour was)"


DATE_RENDERINGS = {"dicom": "19760616", "us": "06/16/1976", "eu_dots": "16.06.1976", "year_mon_day": "1976 Jun 16",
                   "mon_day_year": "Jun 16 1976", "iso": "1976-06-16", "two_digit": "16.06.76",
                   "study_date_us": "03/02/2023", "study_time": "08:59:57", "study_time_short": "08:59"}


@pytest.mark.parametrize("form", sorted(DATE_RENDERINGS))
def test_header_dates_and_times_are_flagged_from_the_dictionary(form):
    value = DATE_RENDERINGS[form]
    chunks = [c for c in _chunks(f"at {value}", HEADER) if c.source == "dictionary"]
    assert chunks, f"{form} not matched by the dictionary"


IDS = {"as_is": "00012345", "no_leading_zeros": "12345", "accession": "A2023000123",
       "accession_digits": "2023000123", "phone": "555 0101 2323", "station": "CTNORTH7"}


@pytest.mark.parametrize("form", sorted(IDS))
def test_identifiers_with_and_without_leading_zeros(form):
    ok = is_fully_flagged(f"Se 2 {IDS[form]}", IDS[form], HEADER) and is_untouched(f"Se 2 {IDS[form]}", "Se 2", HEADER)
    assert ok, f"identifier form {form} not flagged"


OCR_NOISE = {"o_for_zero": "OOO12345", "l_for_one": "000l2345", "s_for_five": "0001234S",
             "dropped_char": "0001245", "name_dropped_char": "Jon Doe", "name_l_for_i": "SMYTHE ANN",
             "date_o_for_zero": "O6/16/1976", "institution_typo": "Lakeside Regiona1",
             "accession_b_for_8": "A2O23000l23",
             "name_substitution": "Smythc, Ann"}


@pytest.mark.parametrize("form", sorted(OCR_NOISE))
def test_ocr_noisy_variants_are_matched(form):
    value = OCR_NOISE[form]
    ok = is_fully_flagged(f"{value} Se 2", value, HEADER) and is_untouched(f"{value} Se 2", "Se 2", HEADER)
    assert ok, f"noisy variant {form} not matched"


def test_numbers_unrelated_to_the_header_are_kept():
    text = "kVp 120 mAs 200 Se 2 Im 14 W:400 L:40 5.0 mm 10 cm 12345678"
    kept = [is_untouched(text, item, HEADER) for item in ("kVp 120", "mAs 200", "Se 2", "Im 14", "W:400 L:40",
                                                         "5.0 mm", "10 cm")]
    assert all(kept), f"technique item(s) flagged: {[k for k, ok in enumerate(kept) if not ok]}"


def test_words_inside_longer_words_are_not_matched():
    dictionary = PhiDictionary.from_header_elements(header_rows(PatientName=("PN", "Ann^Lee")))
    kept = is_untouched("Annotation Sleep", "Annotation Sleep", dictionary)
    assert kept


def test_short_name_parts_that_are_technique_words_are_matched_only_in_full():
    dictionary = PhiDictionary.from_header_elements(header_rows(PatientName=("PN", "Ma^Li")))
    whole = is_fully_flagged("LI MA", "LI MA", dictionary)
    technique_kept = is_untouched("mA 200", "mA", dictionary)
    assert whole and technique_kept


def test_non_ascii_names_from_a_latin1_header():
    ds = _dataset("ISO_IR 100", PatientName="Müller^José", InstitutionName="Klinik Süd")
    dictionary = PhiDictionary.from_dataset(ds)
    forms = ["MÜLLER, JOSÉ", "Muller Jose", "Mueller", "José Müller", "MULLER"]
    missed = [k for k, form in enumerate(forms) if not is_fully_flagged(f"{form} 3D", form, dictionary)]
    assert missed == [], "non-ASCII rendering(s) missed (indices)"


def test_cjk_names_from_an_iso_ir_192_header():
    ds = _dataset("ISO_IR 192", PatientName="Yamada^Tarou=山田^太郎=やまだ^たろう")
    dictionary = PhiDictionary.from_dataset(ds)
    forms = {"ideographic": "山田太郎", "spaced": "山田 太郎", "honorific": "山田太郎様", "given": "太郎",
             "phonetic": "やまだ たろう", "romaji": "TAROU YAMADA"}
    missed = [form for form, text in forms.items() if not is_fully_flagged(f"{text} T2", text.rstrip("様"),
                                                                           dictionary)]
    assert not missed, f"CJK renderings missed: {missed}"


def test_header_without_phi_elements_gives_an_empty_dictionary_that_works():
    ds = _dataset("ISO_IR 100", Modality="CT", Manufacturer="SIEMENS", KVP="120", SliceThickness="5.0",
                  PatientSex="M", StudyDescription="CT HEAD", ImageType=["ORIGINAL", "PRIMARY"])
    dictionary = PhiDictionary.from_dataset(ds)
    assert dictionary.is_empty and PhiDictionary.from_header_elements([]).is_empty
    kept_count = len(flagged_parts("SIEMENS kVp 120 CT HEAD M", dictionary))
    date_count = len(flagged_parts("DOB: 1970-01-02", dictionary))
    assert kept_count == 0 and date_count == 1


def test_rows_may_be_dicts_tuples_or_objects_and_nested_or_private():
    rows = [("PatientName", "PN", "Roe^Rita", "00100010"),
            {"keyword": "PatientID", "vr": "LO", "value": "778899", "element_path": "00101002[0].00100020"},
            {"keyword": None, "vr": "PN", "value": "Vale^Tom", "element_path": "00291010"},
            {"keyword": None, "vr": "LO", "value": "CHEST", "element_path": "00291011"},      # private text: not PHI
            {"keyword": "StudyDescription", "vr": "LO", "value": "Head Neck", "element_path": "00081030"},
            {"keyword": "PatientID", "vr": "LO", "value": None, "element_path": "00100020"}]
    dictionary = PhiDictionary.from_header_elements(rows)
    found = [is_fully_flagged(text, text, dictionary) for text in ("RITA ROE", "778899", "Tom Vale")]
    kept = [is_untouched(text, text, dictionary) for text in ("CHEST", "Head Neck")]
    assert all(found) and all(kept)


def test_multi_values_are_split_on_the_backslash():
    dictionary = PhiDictionary.from_header_elements(header_rows(OtherPatientIDs=("LO", "11223344\\X99887766")))
    found = [is_fully_flagged(v, v, dictionary) for v in ("11223344", "X99887766")]
    assert all(found)


def test_dictionary_from_a_real_file_matches_its_burned_in_name():
    path = PRESIDIO_SAMPLES / "2_ORIGINAL.dcm"
    dictionary = PhiDictionary.from_dataset(pydicom.dcmread(path, stop_before_pixels=True))
    text = " ".join(str(pydicom.dcmread(path, stop_before_pixels=True).PatientName).split("^"))
    found = is_fully_flagged(text, text, dictionary)
    assert found, "the patient name of a real header was not matched"


def test_every_profile_text_attribute_is_a_source_or_excluded_with_a_reason():
    """The source table follows PS3.15 E.1-1: a text attribute the profile removes (and does not clean
    as a descriptor) feeds the dictionary, unless it is listed as excluded with a reason."""
    rows = json.loads(resources.files("transforms.deid").joinpath("data", "confidentiality_profile_attributes.json")
                      .read_text(encoding="utf-8"))
    text_vrs = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"}
    unassigned, not_in_profile = [], set(KEYWORD_CATEGORIES)
    for row in rows:
        try:
            tag = int(row["id"], 16)
            vr, keyword = dictionary_VR(tag), keyword_for_tag(tag)
        except (ValueError, KeyError):
            continue
        not_in_profile.discard(keyword)
        if row["basicProfile"] == "K" or vr not in text_vrs or row.get("cleanDescOpt") == "C":
            continue
        if vr in VR_CATEGORIES or keyword in KEYWORD_CATEGORIES or keyword in EXCLUDED:
            continue
        unassigned.append(keyword)
    assert unassigned == []
    assert not_in_profile == set()


def _chunks(text, dictionary):
    from tests.test_phi_support import RECOGNIZER

    return RECOGNIZER.find_phi_in_text(text, dictionary)


def _dataset(charset: str, **values) -> Dataset:
    """A real Part 10 file written and read back by pydicom, so the charset decoding is pydicom's."""
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer)


def test_a_name_part_cut_by_ocr_is_flagged_next_to_the_name_only():
    dictionary = PhiDictionary.from_header_elements(header_rows(PatientName=("PN", "Howell^Jonathan")))
    beside = is_fully_flagged("HOWELL JONAT Se 2", "JONAT", dictionary)
    counter_kept = is_untouched("HOWELL JONAT Se 2", "Se 2", dictionary)
    alone_kept = is_untouched("Series JONAT", "JONAT", dictionary)
    assert beside and counter_kept and alone_kept


def test_unreadable_rows_raise_a_reason_and_huge_values_stay_cheap():
    from transforms.phi import RecognizerError

    with pytest.raises(RecognizerError) as caught:
        PhiDictionary.from_header_elements([("PatientName", "PN")])           # a row without value or path
    assert caught.value.reason == "dictionary_failed"
    huge = PhiDictionary.from_header_elements(header_rows(
        PatientName=("PN", "A" * 60_000 + "^" + "B" * 4000), InstitutionAddress=("ST", "x " * 30_000)))
    count = len(flagged_parts("kVp 120 Se 2 " + "A" * 50, huge))
    assert count == 0 and huge.max_key_len <= 128


def test_names_that_are_radiology_words_match_only_as_names():
    dictionary = PhiDictionary.from_header_elements(header_rows(
        PatientName=("PN", "Long^Mary^Ann"), ReferringPhysicianName=("PN", "Head^Ann"), StudyID=("SH", "4521")))
    kept = [is_untouched(text, text, dictionary) for text in ("Head First-Supine", "Long axis", "Se 2")]
    found = [is_fully_flagged(text, text, dictionary) for text in ("HEAD, ANN", "Mary Long", "LONG M A")]
    exam_number = is_fully_flagged("Ex: 4521", "4521", dictionary) and is_untouched("Ex: 4521", "Ex", dictionary)
    assert all(kept) and all(found) and exam_number
