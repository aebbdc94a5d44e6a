"""No secret, no de-identification: production refuses the missing or demo secret."""

from __future__ import annotations

import pytest

from tests.conftest import pydicom_file
from tests.test_deid_support import read
from transforms.deid import DeidOptions, deidentify_dataset, deidentify_file
from transforms.keyring import DEMO_SECRET, Keyring, SecretError


def test_production_without_secret_refuses(monkeypatch):
    monkeypatch.setenv("DEIDLAKE_MODE", "production")
    monkeypatch.delenv("DEIDLAKE_SECRET", raising=False)
    with pytest.raises(SecretError):
        deidentify_dataset(read(pydicom_file("CT_small.dcm")), DeidOptions())
    with pytest.raises(SecretError):
        deidentify_file(pydicom_file("CT_small.dcm"), DeidOptions())


def test_production_with_the_demo_secret_refuses(monkeypatch):
    monkeypatch.setenv("DEIDLAKE_MODE", "production")
    monkeypatch.setenv("DEIDLAKE_SECRET", DEMO_SECRET)
    with pytest.raises(SecretError):
        deidentify_dataset(read(pydicom_file("CT_small.dcm")), DeidOptions())
    demo = Keyring(DEMO_SECRET.encode(), is_demo=True)                 # built by hand: still refused
    with pytest.raises(SecretError):
        deidentify_dataset(read(pydicom_file("CT_small.dcm")), DeidOptions(), demo)


def test_production_with_a_real_secret_runs(monkeypatch):
    monkeypatch.setenv("DEIDLAKE_MODE", "production")
    monkeypatch.setenv("DEIDLAKE_SECRET", "a-real-production-secret-0001")
    result = deidentify_dataset(read(pydicom_file("CT_small.dcm")), DeidOptions())
    assert result.patient_pseudonym.startswith("P")


def test_test_mode_runs_with_the_demo_secret(monkeypatch):
    monkeypatch.setenv("DEIDLAKE_MODE", "test")
    monkeypatch.delenv("DEIDLAKE_SECRET", raising=False)
    assert deidentify_dataset(read(pydicom_file("CT_small.dcm")), DeidOptions()).audit
