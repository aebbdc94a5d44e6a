"""The audit rows say what changed where, with keyed hashes: never an original value."""

from __future__ import annotations

import re

import pytest
from pydicom.datadict import keyword_for_tag

from tests.conftest import pydicom_file
from tests.test_deid_support import INJECTED_PHI, TEST_KEYRING, phi_dataset, read, rendered_values
from transforms.deid import DeidOptions, deidentify_dataset

PATH = re.compile(r"^([0-9A-F]{8}\[\d+\]\.)*[0-9A-F]{8}$")
ACTION = re.compile(r"^[XZDUCK](:[a-z_]+)?$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _original_values(ds) -> set[str]:
    """Every value of the input worth looking for: 4+ characters and not mere hex digits."""
    return {text for _, text in rendered_values(ds) if len(text) >= 4 and not re.fullmatch(r"[0-9a-fA-F]+", text)}


@pytest.mark.parametrize("name", ["CT_small.dcm", "test-SR.dcm", "rtplan.dcm", "waveform_ecg.dcm", "phi"])
@pytest.mark.parametrize("options", [DeidOptions(), DeidOptions(dates="shift", retain_safe_private=True)])
def test_audit_rows_hold_no_original_value(name, options):
    ds = phi_dataset() if name == "phi" else read(pydicom_file(name))
    originals = _original_values(ds) - {"None"}
    result = deidentify_dataset(ds, options, TEST_KEYRING, audit_all=True)
    # The keyword comes from the DICOM dictionary (never from the file); every other field is searched.
    assert all(row["keyword"] in (None, keyword_for_tag(int(row["tag"], 16))) for row in result.audit)
    hits = [index for index, row in enumerate(result.audit)
            if any(value in str(row[field]) for field in DATA_FIELDS for value in originals)]
    assert not hits, f"{len(hits)} audit row(s) contain an original value (rows {hits[:5]})"


DATA_FIELDS = ("element_path", "tag", "vr", "action", "original_hash")


def test_audit_rows_are_well_formed_and_hashes_can_be_checked():
    ds = phi_dataset()
    result = deidentify_dataset(ds, DeidOptions(), TEST_KEYRING)
    assert result.audit
    for row in result.audit:
        assert set(row) == {"element_path", "tag", "keyword", "vr", "action", "original_hash"}
        assert PATH.match(row["element_path"]) and row["element_path"].endswith(row["tag"])
        assert ACTION.match(row["action"]), row["action"]
        assert row["original_hash"] is None or HEX64.match(row["original_hash"])
    by_path = {row["element_path"]: row for row in result.audit}
    expected = TEST_KEYRING.hexdigest("audit", INJECTED_PHI["patient_id"])
    assert by_path["00100020"]["original_hash"] == expected            # a reviewer can test a known value
    nested = [row for row in result.audit if "[0]." in row["element_path"]]
    assert nested, "changes inside sequences are audited with their nested path"


def test_audit_all_also_lists_kept_elements():
    changed = deidentify_dataset(read(pydicom_file("CT_small.dcm")), DeidOptions(), TEST_KEYRING).audit
    everything = deidentify_dataset(read(pydicom_file("CT_small.dcm")), DeidOptions(), TEST_KEYRING,
                                    audit_all=True).audit
    assert len(everything) > len(changed)
    assert {row["action"] for row in everything} >= {"K", "U", "Z"}
