"""Hostile inputs as a test (issue 27.4): every class of broken file ends published or quarantined with a
machine-readable reason, within bounded time and memory; and a property-based fuzz run (hypothesis) over
mutated real files finds no unhandled exception in the header parser, the header de-identification or
the frame decoder. The longer run: `bench/fuzz.py` (figures in docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import pydicom_file
from transforms.synth.hostile import hostile_cases, measure, mutation_strategy, write_hostile_corpus

MAX_SECONDS = 20.0                   # per file, on a loaded 2-core machine (typical: well under 1 s)
MAX_PEAK_BYTES = 256 * 2**20         # per file, Python-side allocations
FUZZ_SEEDS = ("CT_small.dcm", "MR_small_RLE.dcm", "SC_rgb_rle_2frame.dcm", "MR_small_implicit.dcm",
              "image_dfl.dcm", "rtplan.dcm", "MR_small_jpeg_ls_lossless.dcm",
              "SC_rgb_jpeg_gdcm.dcm", "JPEG2000.dcm")

# Where each class must end (stage, reason); "published" classes are valid files.
EXPECTED = {
    "empty": ("ingest", "empty_file"),
    "not_dicom_text": ("ingest", "not_dicom"),
    "not_dicom_random": ("ingest", "not_dicom"),
    "preamble_only": ("ingest", "truncated_header"),
    "duplicate_a": ("published", None),
    "duplicate_b": ("published", None),
    "deep_sequence_nesting": ("published", None),
    "declared_length_beyond_file": ("ingest", "truncated"),
    "pixel_length_4gb": ("ingest", "truncated"),
    "dicomdir": ("ingest", "dicomdir"),
    "bits_allocated_mismatch": ("pixel", "pixel_data_shorter_than_frames"),
    "absurd_dimensions": ("pixel", "pixel_data_shorter_than_frames"),
    "short_pixel_data": ("pixel", "pixel_data_shorter_than_frames"),
    "valid_small_image": ("published", None),
    "truncated_100": ("ingest", "truncated"),
    "truncated_500": ("ingest", "truncated"),
    "truncated_900": ("ingest", "truncated"),
    "truncated_999": ("ingest", "truncated"),
}


@pytest.fixture(scope="module")
def seed() -> bytes:
    return pydicom_file("CT_small.dcm").read_bytes()


def test_every_hostile_class_ends_published_or_quarantined_with_a_reason(seed, tmp_path):
    cases = hostile_cases(seed)
    assert set(EXPECTED) <= set(cases)
    for name, content in cases.items():
        measured = measure(content, tmp_path)
        assert measured.error is None, f"{name}: unhandled {measured.error}"
        outcome = measured.outcome
        assert outcome.published or outcome.reason, name
        if name in EXPECTED:
            assert (outcome.stage, outcome.reason) == EXPECTED[name], name
        assert measured.seconds < MAX_SECONDS and measured.peak_bytes < MAX_PEAK_BYTES, name


def test_the_generator_writes_every_class(seed, tmp_path):
    written = write_hostile_corpus(tmp_path / "hostile", pydicom_file("CT_small.dcm"))
    assert {p.name for p in (tmp_path / "hostile").iterdir()} == {f"{n}.dcm" for n in written}
    assert written["duplicate_a"].read_bytes() == written["duplicate_b"].read_bytes() == seed
    assert written["empty"].stat().st_size == 0


SEEDS = {name: Path(pydicom_file(name)).read_bytes() for name in FUZZ_SEEDS}


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(case=mutation_strategy(SEEDS))
def test_fuzz_mutated_real_files_never_escape_a_reason(case, tmp_path):
    name, data = case
    measured = measure(data, tmp_path)
    assert measured.error is None, f"unhandled {measured.error} on a mutation of {name}"
    assert measured.outcome.published or measured.outcome.reason
    assert measured.seconds < MAX_SECONDS, f"{measured.seconds:.1f} s on a mutation of {name}"
    assert measured.peak_bytes < MAX_PEAK_BYTES, f"{measured.peak_bytes} bytes on a mutation of {name}"


@pytest.mark.parametrize("seed_name, mutation, expected", [
    # A length word of the file meta set to 0xFFFFFFFE: pydicom asked for 4 GB in one read (peak 4096 MB).
    ("CT_small.dcm", dict(flips=[], lengths=[(324, 0xFFFFFFFE)], cut=None, insert=None), ("ingest", "truncated_header")),
    # The VR of (0002,0002) flipped to "U\\": NotImplementedError when ingest read the SOP class.
    ("CT_small.dcm", dict(flips=[(SEEDS["CT_small.dcm"].find(b"\x02\x00\x02\x00UI") + 5, 0x49 ^ 0x5C)], lengths=[],
                          cut=None, insert=None), ("ingest", "unreadable_header")),
    # A deflated dataset cut short: zlib.error escaped the header reader.
    ("image_dfl.dcm", dict(flips=[], lengths=[], cut=400, insert=None), ("ingest", "unreadable_header")),
])
def test_what_the_fuzz_run_found(seed_name, mutation, expected, tmp_path):
    from transforms.synth.hostile import mutate

    measured = measure(mutate(SEEDS[seed_name], **mutation), tmp_path)
    assert measured.error is None
    assert (measured.outcome.stage, measured.outcome.reason) == expected
    assert measured.peak_bytes < 16 * 2**20
