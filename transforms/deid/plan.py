"""What the header step does to each element of a file, decided by its own rules without changing anything.

This is the one table the header step and the leakage gate share: the header step applies
`rules.rule_for` (+ `rules.positioned`) while it walks a dataset; `plan_elements` applies the very same
functions to the file's element rows (`transforms.metadata.flatten_elements`, i.e. bronze.dicom_elements),
so the gate knows, per element path, whether the profile and the options in force REMOVE the value,
REPLACE it (dummy, pseudonym, new UID, shifted date, cleaned text) or KEEP it as read. The gate then
counts as a leak only what the profile promises to remove or replace (see transforms/leakage.py), and
`tests/test_deid_plan.py` checks the plan against the header step's own audit on real files.

Rows need `element_path`, `tag`, `vr` and `value`; the rows of the sequences themselves may be missing
(the gate reads only rows with a value): a sequence's decision is taken from its tag in the paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Iterable, Mapping

from transforms.deid import keep_lists as keep
from transforms.deid.file_meta import MEDIA_INSTANCE_UID, MEDIA_SOP_CLASS_UID, META_KEPT, OURS, SOP_CLASS_UID
from transforms.deid.options import DeidOptions
from transforms.deid.profile import ActionTable, Op, action_table
from transforms.deid.rules import positioned, rule_for, safe_private_tags
from transforms.deid.run import CLEAN_CONTEXT, DUMMY_CONTEXT, PLAIN, RETAIN_CONTEXT, effective_vr

FILE_META_GROUP = 0x0002
CHILD_CONTEXT = {Op.RECURSE: None, Op.RECURSE_DUMMY: DUMMY_CONTEXT, Op.RECURSE_CLEAN: CLEAN_CONTEXT,
                 Op.RECURSE_RETAIN: RETAIN_CONTEXT}


class Fate(StrEnum):
    KEEP = "keep"            # written as read (a sequence: kept, its items decided element by element)
    REPLACE = "replace"      # a new value: dummy, pseudonym, new UID, shifted date, cleaned text, local code
    REMOVE = "remove"        # gone, or emptied (with everything inside it)


FATES: Mapping[Op, Fate] = {
    Op.KEEP: Fate.KEEP, Op.RECURSE: Fate.KEEP, Op.RECURSE_DUMMY: Fate.KEEP, Op.RECURSE_CLEAN: Fate.KEEP,
    Op.RECURSE_RETAIN: Fate.KEEP, Op.SAFE_PRIVATE: Fate.KEEP,
    Op.REMOVE: Fate.REMOVE, Op.EMPTY: Fate.REMOVE,
}


@dataclass(frozen=True)
class Decision:
    op: Op
    action: str              # the audit's action (X, Z, D, U, C, K or our reason, e.g. X:private)
    own: Op | None = None    # inside a removed sequence: the element's own rule there (its U, its K, ...)

    @property
    def fate(self) -> Fate:
        return FATES.get(self.op, Fate.REPLACE)

    @property
    def own_op(self) -> Op:
        """What the table says of the element itself, wherever it stands (a U inside a removed sequence
        is still an instance UID the profile does not let through)."""
        return self.own or self.op


@dataclass(frozen=True)
class _Decider:
    """What `rules.rule_for` reads of a Run: the table, and whether a text cleaner runs."""

    table: ActionTable
    text_cleaner: Any


KEPT = Decision(Op.KEEP, "K")


def plan_elements(rows: Iterable[Any], options: DeidOptions,
                  has_text_cleaner: bool | None = None) -> dict[str, Decision]:
    """Element path -> the header step's decision, for every row. `has_text_cleaner` defaults to what the
    pipeline does (a cleaner runs when a Clean option is chosen)."""
    cleaner = options.needs_text_cleaner if has_text_cleaner is None else has_text_cleaner
    table = action_table(options, cleaner)
    planner = _Planner(_Decider(table, _identity if cleaner else None), [_fields(r) for r in rows])
    return {path: planner.decide(path, tag, vr, value) for path, tag, vr, value in planner.rows}


def _identity(text: str) -> str:
    return text


class _Planner:
    def __init__(self, decider: _Decider, rows: list[tuple[str, int, str | None, Any]]):
        self.decider = decider
        self.rows = rows
        values = {path: value for path, _, _, value in rows}
        self.sop_class = _text(values.get(f"{SOP_CLASS_UID:08X}")) or _text(values.get(f"{MEDIA_SOP_CLASS_UID:08X}"))
        self.schemes = {path[:-8]: _text(value) for path, tag, _, value in rows
                        if tag == keep.CODING_SCHEME_DESIGNATOR_TAG}
        self.safe_private = self._safe_private(rows) if decider.table.private.op is Op.SAFE_PRIVATE else set()
        self.items: dict[str, tuple[str, Decision | None]] = {"": (PLAIN, None)}

    def decide(self, path: str, tag: int, vr: str | None, value: Any) -> Decision:
        prefix = path[:-8]
        if not prefix and tag >> 16 == FILE_META_GROUP:
            return self._file_meta(tag)
        context, removed_by = self._item(prefix)
        if tag >> 16 & 1:
            decision = self._private(prefix, tag, vr)
        else:
            vr = effective_vr(vr, tag)
            rule = rule_for(self.decider, tag, vr, context, self.schemes.get(prefix, ""))
            rule = positioned(rule, tag, vr, prefix, self.sop_class)
            decision = Decision(rule.op, rule.action)
        if removed_by is not None:
            return Decision(removed_by.op, removed_by.action, decision.op)
        return decision

    def _item(self, prefix: str) -> tuple[str, Decision | None]:
        """(context of the item's elements, the decision that removed an enclosing sequence, if one did)."""
        known = self.items.get(prefix)
        if known is not None:
            return known
        sequence_path = prefix[:-1].rsplit("[", 1)[0]          # "...00081110[0]." -> "...00081110"
        parent_prefix = sequence_path[:-8]
        context, removed_by = self._item(parent_prefix)
        if removed_by is None:
            tag = int(sequence_path[-8:], 16)
            decision = (self._private(parent_prefix, tag, "SQ") if tag >> 16 & 1 else
                        self.decide(sequence_path, tag, "SQ", None))
            if decision.op in CHILD_CONTEXT:
                context = CHILD_CONTEXT[decision.op] or context
            else:
                removed_by = decision
        self.items[prefix] = (context, removed_by)
        return context, removed_by

    def _private(self, prefix: str, tag: int, vr: str | None) -> Decision:
        if f"{prefix}{tag:08X}" in self.safe_private:
            return Decision(Op.SAFE_PRIVATE, "K")
        return Decision(Op.REMOVE, self.decider.table.private.action)

    @staticmethod
    def _safe_private(rows: list[tuple[str, int, str | None, Any]]) -> set[str]:
        """Paths of the private elements Retain Safe Private keeps (`rules.safe_private_tags`, per item)."""
        by_item: dict[str, dict[int, tuple[str, bytes | str | None]]] = {}
        for path, tag, vr, value in rows:
            if tag >> 16 & 1:
                stored = value.encode("latin-1", "replace") if isinstance(value, str) and vr == "UN" else value
                by_item.setdefault(path[:-8], {})[tag] = (vr or "UN", stored)
        return {f"{prefix}{tag:08X}" for prefix, elements in by_item.items() for tag in safe_private_tags(elements)}

    def _file_meta(self, tag: int) -> Decision:
        if tag in META_KEPT:
            return KEPT
        if tag == MEDIA_INSTANCE_UID:      # follows the SOP Instance UID (its original under Retain UIDs)
            return Decision(Op.UID, "U:file_meta")
        return Decision(Op.DUMMY, "D:file_meta") if tag in OURS else Decision(Op.REMOVE, "X:file_meta")


def _fields(row: Any) -> tuple[str, int, str | None, Any]:
    if isinstance(row, Mapping):
        path, tag, vr, value = (row.get(k) for k in ("element_path", "tag", "vr", "value"))
    else:
        path, tag, vr, value = (getattr(row, k, None) for k in ("element_path", "tag", "vr", "value"))
    return str(path), int(tag, 16) if isinstance(tag, str) else int(tag), vr, value


def _text(value: Any) -> str:
    return str(value or "").strip(" \x00")
