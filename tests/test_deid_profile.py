"""The action table is Table E.1-1 as published, resolved per option set."""

from __future__ import annotations

import ast
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from pydicom.datadict import dictionary_VR, tag_for_keyword

from transforms.deid.options import DeidOptions, UnknownOptionError
from transforms.deid.profile import (CLEANABLE_TEXT_VRS, DATE_COLUMNS, OPTION_COLUMNS, Op, action_table,
                                     load_rows, resolve_compound)
from transforms.deid.profile_data import profile_digest

DATA = Path(__file__).resolve().parents[1] / "transforms" / "deid" / "data"
# SHA-256 of Innolitics' dicom-standard file as published (the workplace's reference copy, 2026-12-05).
PUBLISHED_SHA256 = "a99a35d1278e2bace8d90ff791b11aea2d45f1e3e1230388eb5224c9dbcd29e6"
BASIC = DeidOptions()


def tag(keyword: str) -> int:
    return int(tag_for_keyword(keyword))


def test_the_table_is_the_published_file_with_its_licence():
    assert (DATA / "LICENSE.txt").read_text().startswith("Copyright (c) 2017 Innolitics")
    published = hashlib.sha256((DATA / "confidentiality_profile_attributes.json").read_bytes()).hexdigest()
    assert published == PUBLISHED_SHA256


def test_every_row_is_loaded_and_patterns_are_recognised():
    raw = json.loads((DATA / "confidentiality_profile_attributes.json").read_text())
    rows = load_rows()
    assert len(rows) == len(raw) == 621
    assert Counter(row.pattern for row in rows if row.pattern) == {"private": 1, "curve": 1, "overlay": 2}
    table = action_table(BASIC)
    assert len(table.rules) == 617                                 # every exact tag, once
    assert Counter(row.basic for row in rows)["X/Z/U*"] == 2


@pytest.mark.parametrize("compound, expected", [
    ("X/Z", "Z"), ("X/D", "D"), ("Z/D", "D"), ("X/Z/D", "D"), ("X/Z/U*", "U"), ("X", "X"), ("K", "K")])
def test_compound_actions_resolve_to_the_alternative_valid_in_every_iod(compound, expected):
    assert resolve_compound(compound) == expected


@pytest.mark.parametrize("keyword, op, action", [
    ("PatientName", Op.PSEUDO_PATIENT_NAME, "D:pseudonym"),        # Z, replaced by a keyed pseudonym
    ("PatientID", Op.PSEUDO_PATIENT_ID, "D:pseudonym"),            # Z/D
    ("AccessionNumber", Op.PSEUDO_ACCESSION, "D:pseudonym"),       # Z
    ("StudyInstanceUID", Op.UID, "U"),
    ("StudyDate", Op.EMPTY, "Z"),
    ("ContentDate", Op.DUMMY, "D"),                                # Z/D
    ("InstitutionName", Op.DUMMY, "D"),                            # X/Z/D
    ("AcquisitionDate", Op.EMPTY, "Z"),                            # X/Z
    ("SeriesDate", Op.DUMMY, "D"),                                 # X/D
    ("SourceImageSequence", Op.RECURSE, "U"),                      # X/Z/U*
    ("ContentSequence", Op.RECURSE_DUMMY, "D"),
    ("VerifyingObserverName", Op.PSEUDO_PERSON, "D"),
    ("PatientAge", Op.REMOVE, "X"),
    ("OtherPatientIDsSequence", Op.REMOVE, "X"),
])
def test_basic_profile_rules(keyword, op, action):
    rule = action_table(BASIC).rules[tag(keyword)]
    assert (rule.op, rule.action) == (op, action)


@pytest.mark.parametrize("options, keyword, op", [
    (DeidOptions(retain_uids=True), "StudyInstanceUID", Op.KEEP),
    (DeidOptions(retain_device_identity=True), "DeviceSerialNumber", Op.KEEP),
    (DeidOptions(retain_device_identity=True), "StationName", Op.KEEP),
    (DeidOptions(retain_institution_identity=True), "InstitutionName", Op.KEEP),
    (DeidOptions(retain_patient_characteristics=True), "PatientSex", Op.KEEP),
    (DeidOptions(retain_patient_characteristics=True), "PatientAge", Op.KEEP),
    (DeidOptions(dates="full"), "StudyDate", Op.KEEP),
    (DeidOptions(dates="shift"), "StudyDate", Op.SHIFT),
    (DeidOptions(dates="shift"), "AcquisitionDateTime", Op.SHIFT),
    (DeidOptions(dates="shift", retain_device_identity=True), "DateOfLastCalibration", Op.SHIFT),  # C beats K
    (DeidOptions(retain_device_identity=True), "DateOfLastCalibration", Op.KEEP),
])
def test_each_option_changes_what_it_should(options, keyword, op):
    assert action_table(options).rules[tag(keyword)].op is op
    assert action_table(BASIC).rules[tag(keyword)].op is not op


def test_retain_uids_keeps_reference_sequences_and_a_c_without_cleaner_falls_back():
    rule = action_table(DeidOptions(retain_uids=True)).rules[tag("ReferencedImageSequence")]
    assert (rule.op, rule.action) == (Op.RECURSE_RETAIN, "K")
    rule = action_table(DeidOptions(dates="shift")).rules[tag("TimezoneOffsetFromUTC")]   # C on SH
    assert (rule.op, rule.decided_by) == (Op.REMOVE, "basicProfile")


@pytest.mark.parametrize("options, keyword, op", [
    (DeidOptions(clean_descriptors=True), "StudyDescription", Op.CLEAN_TEXT),
    (DeidOptions(clean_descriptors=True), "RequestAttributesSequence", Op.RECURSE_CLEAN),
    (DeidOptions(clean_structured_content=True), "ContentSequence", Op.RECURSE_CLEAN),
    (DeidOptions(clean_graphics=True), "GraphicAnnotationSequence", Op.RECURSE_CLEAN),
    (DeidOptions(retain_patient_characteristics=True), "Allergies", Op.CLEAN_TEXT),
])
def test_clean_options_need_a_text_cleaner(options, keyword, op):
    assert action_table(options, has_text_cleaner=True).rules[tag(keyword)].op is op
    without = action_table(options, has_text_cleaner=False).rules[tag(keyword)]
    assert without.op is not op and without.decided_by == "basicProfile"


def test_safe_private_option_switches_the_private_pattern():
    assert action_table(BASIC).private.op is Op.REMOVE
    assert action_table(DeidOptions(retain_safe_private=True)).private.op is Op.SAFE_PRIVATE
    for options in (BASIC, DeidOptions(clean_graphics=True)):
        table = action_table(options, has_text_cleaner=True)
        assert table.overlay.op is Op.REMOVE and table.curve.op is Op.REMOVE


@pytest.mark.parametrize("column", sorted(set(OPTION_COLUMNS) - {"rtnSafePrivOpt"}))
def test_every_option_column_is_honoured_for_every_row(column):
    """Data-driven: a K in a column keeps under that option alone; a C cleans, or falls back to the
    Basic Profile only where nothing can clean an element of that VR."""
    flag = OPTION_COLUMNS[column]
    options = DeidOptions(dates=flag.split("=")[1]) if flag.startswith("dates=") else DeidOptions(**{flag: True})
    table = action_table(options, has_text_cleaner=True)
    basic = action_table(BASIC, has_text_cleaner=True)
    cleanable = {"DA", "DT", "TM"} if column in DATE_COLUMNS else CLEANABLE_TEXT_VRS | {"SQ"}
    checked = 0
    for row in load_rows():
        if row.pattern or column not in row.columns:
            continue
        rule, vr = table.rules[row.tag], dictionary_VR(row.tag).split(" or ")[0]
        if row.columns[column] == "K":
            assert rule.op in (Op.KEEP, Op.RECURSE_RETAIN) and rule.action == "K", f"{row.tag:08X} under {column}"
        elif vr in cleanable:
            assert rule.op in (Op.SHIFT, Op.CLEAN_TEXT, Op.RECURSE_CLEAN), f"{row.tag:08X} under {column}"
        else:
            assert rule == basic.rules[row.tag], f"{row.tag:08X} under {column}"
        checked += 1
    assert checked > 0


def test_options_from_names_and_fingerprint():
    options = DeidOptions.from_names(["rtnUIDsOpt", "dates=shift", "Clean Descriptors"])
    assert options == DeidOptions(retain_uids=True, dates="shift", clean_descriptors=True)
    assert DeidOptions.from_names(list(options.names)) == options
    assert options.fingerprint == DeidOptions.from_names(list(options.names)).fingerprint
    assert options.fingerprint != BASIC.fingerprint and options.fingerprint.startswith("deid-v")
    record = options.to_record()
    assert record["dates"] == "shift" and record["retain_uids"] is True
    assert len(profile_digest()) == 64
    with pytest.raises(UnknownOptionError):
        DeidOptions.from_names(["retain_everything"])
    with pytest.raises(UnknownOptionError):
        DeidOptions.from_names(["dates=full", "dates=shift"])


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def test_imports_flow_one_way_between_options_and_profile():
    """profile builds on options; options (and the digest they record) never reach back into profile."""
    deid = DATA.parent
    assert "transforms.deid.options" in _imported_modules(deid / "profile.py")
    for module in ("options.py", "profile_data.py"):
        assert "transforms.deid.profile" not in _imported_modules(deid / module), module


def test_keep_lists_only_hold_unlisted_text_elements():
    """An entry the table already lists, or whose VR cannot carry text, would be a dead or wrong entry."""
    from transforms.deid import keep_lists

    table = action_table(BASIC)
    for tag in keep_lists.KEEP_TEXT_TAGS | set(keep_lists.REQUIRED_FREE_TEXT):
        assert tag not in table.rules, f"{tag:08X} is in Table E.1-1"
        assert dictionary_VR(tag) in keep_lists.TEXT_VRS, f"{tag:08X} is not a text VR"
    for tag in keep_lists.DEFINITION_UID_TAGS:
        assert tag not in table.rules and dictionary_VR(tag) == "UI"
    for (creator, group, element), (vr, _) in keep_lists.SAFE_PRIVATE.items():
        assert group & 1 and 0 <= element <= 0xFF and vr in keep_lists.SAFE_PRIVATE_STORED_VRS
