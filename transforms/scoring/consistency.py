"""Consistency across files: one patient, study or series in the input is one pseudonym or UID in
the output (not split), different ones stay different (not merged), instance UIDs stay unique and
changed, and references from one instance to another still point at the right (new) instance.

Only counts and element paths are reported; pseudonyms and UIDs are not printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset

from transforms.synth.truth import FileTruth

# (check name, truth key that groups files, output attribute)
GROUPINGS = (
    ("patient_id", "patient_key", "PatientID"),
    ("patient_name", "patient_key", "PatientName"),
    ("study_instance_uid", "study_key", "StudyInstanceUID"),
    ("series_instance_uid", "series_key", "SeriesInstanceUID"),
    ("frame_of_reference_uid", "series_key", "FrameOfReferenceUID"),
)
ORIGINAL_UID_FIELDS = {"study_instance_uid": "study_instance_uid", "series_instance_uid": "series_instance_uid",
                       "frame_of_reference_uid": "frame_of_reference_uid"}


@dataclass
class GroupCheck:
    name: str
    groups: int = 0
    split: int = 0          # groups whose files got more than one output value
    merged: int = 0         # groups sharing an output value with another group
    unchanged: int = 0      # groups whose output UID is still the original (UIDs only)
    absent: int = 0         # files without the attribute in the output

    @property
    def consistent(self) -> bool:
        return self.split == 0 and self.merged == 0 and self.unchanged == 0

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "consistent": self.consistent}


@dataclass
class ConsistencyResult:
    checks: list[GroupCheck] = field(default_factory=list)
    instances: int = 0
    instance_uids_duplicated: int = 0
    instance_uids_unchanged: int = 0
    references: int = 0
    references_resolved: int = 0
    references_unresolvable: int = 0   # the referenced file is missing from the output

    @property
    def consistent(self) -> bool:
        return (all(c.consistent for c in self.checks if c.name != "patient_name")
                and self.instance_uids_duplicated == 0 and self.instance_uids_unchanged == 0
                and self.references_resolved == self.references - self.references_unresolvable)

    def to_json(self) -> dict[str, Any]:
        return {"consistent": self.consistent, "checks": [c.to_json() for c in self.checks],
                "instances": self.instances, "instance_uids_duplicated": self.instance_uids_duplicated,
                "instance_uids_unchanged": self.instance_uids_unchanged, "references": self.references,
                "references_resolved": self.references_resolved,
                "references_unresolvable": self.references_unresolvable,
                "note": "patient_name is reported but not required: emptying names is allowed"}


def _value(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    return None if value is None else str(value)


def _resolve(ds: Dataset, path: str) -> str | None:
    """The value at an element path of ours (`00081140[0].00081155`), or None."""
    current: Any = ds
    for part in path.split("."):
        tag_hex, _, index = part.partition("[")
        tag = int(tag_hex, 16)
        if not isinstance(current, Dataset) or tag not in current:
            return None
        current = current[tag].value
        if index:
            try:
                current = current[int(index.rstrip("]"))]
            except (IndexError, TypeError):
                return None
    return None if current is None else str(current)


def check_consistency(pairs: list[tuple[FileTruth, Dataset]]) -> ConsistencyResult:
    """`pairs`: each matched truth file with its output dataset."""
    result = ConsistencyResult()
    for name, key, keyword in GROUPINGS:
        result.checks.append(_group_check(pairs, name, key, keyword))
    _instance_checks(result, pairs)
    _reference_checks(result, pairs)
    return result


def _group_check(pairs: list[tuple[FileTruth, Dataset]], name: str, key: str, keyword: str) -> GroupCheck:
    check = GroupCheck(name)
    values: dict[str, set[str]] = {}
    originals: dict[str, str | None] = {}
    for truth, ds in pairs:
        if name == "frame_of_reference_uid" and not truth["uids"].get("frame_of_reference_uid"):
            continue
        group = truth[key]
        value = _value(ds, keyword)
        if value is None:
            check.absent += 1
            value = ""
        values.setdefault(group, set()).add(value)
        originals[group] = truth["uids"].get(ORIGINAL_UID_FIELDS[name]) if name in ORIGINAL_UID_FIELDS else None
    check.groups = len(values)
    check.split = sum(1 for v in values.values() if len(v) > 1)
    owners: dict[str, set[str]] = {}
    for group, group_values in values.items():
        for value in group_values:
            owners.setdefault(value, set()).add(group)
    check.merged = sum(1 for group, group_values in values.items()
                       if any(len(owners[v]) > 1 for v in group_values))
    check.unchanged = sum(1 for group, group_values in values.items()
                          if originals.get(group) and originals[group] in group_values)
    return check


def _instance_checks(result: ConsistencyResult, pairs: list[tuple[FileTruth, Dataset]]) -> None:
    seen: dict[str, int] = {}
    for truth, ds in pairs:
        value = _value(ds, "SOPInstanceUID") or ""
        seen[value] = seen.get(value, 0) + 1
        if value == truth["uids"]["sop_instance_uid"]:
            result.instance_uids_unchanged += 1
    result.instances = len(pairs)
    result.instance_uids_duplicated = sum(count - 1 for count in seen.values() if count > 1)


def _reference_checks(result: ConsistencyResult, pairs: list[tuple[FileTruth, Dataset]]) -> None:
    new_uid_of = {truth["uids"]["sop_instance_uid"]: _value(ds, "SOPInstanceUID") for truth, ds in pairs}
    for truth, ds in pairs:
        for reference in truth["references"]:
            result.references += 1
            target = new_uid_of.get(reference["referenced_sop_instance_uid"])
            if target is None:
                result.references_unresolvable += 1
                continue
            if _resolve(ds, reference["element_path"]) == target:
                result.references_resolved += 1
