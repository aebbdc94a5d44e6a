"""One decision per element: which rule applies, from the tag, the VR and where the element sits.

Shared by the two walkers (pydicom datasets and raw sequence items), so both decide alike.
"""

from __future__ import annotations

from transforms.deid import keep_lists as keep
from transforms.deid.profile import CURVE_GROUPS, OVERLAY_GROUPS, Op, Rule
from transforms.deid.run import CLEAN_CONTEXT, DUMMY_CONTEXT, PLAIN, RETAIN_CONTEXT, Run, keyword_of
from transforms.deid.sequence_types import parent_keywords, required_where_it_stands

TRAILING_PADDING = 0xFFFCFFFC
KEEP = Rule(Op.KEEP, "K", "keep_list")
GROUP_LENGTH = Rule(Op.REMOVE, "X:group_length", "structure")
PADDING = Rule(Op.REMOVE, "X:padding", "structure")
UNLISTED_UN = Rule(Op.REMOVE, "X:unlisted_un", "unlisted")
UNLISTED_AGE = Rule(Op.REMOVE, "X:unlisted_age", "unlisted")
UNLISTED_UID = Rule(Op.UID, "U:unlisted_uid", "unlisted")
UNLISTED_SEQUENCE = Rule(Op.RECURSE, "K", "unlisted")
CLEANABLE = frozenset({"LO", "SH", "ST", "LT", "UT", "UC"})
OPTIONAL_SEQUENCE = "X:optional_sequence"


def rule_for(run: Run, tag: int, vr: str, context: str, scheme: str) -> Rule:
    """The rule for a public element (private ones are decided with their private creator).

    `scheme` is the Coding Scheme Designator of the element's item as read ("" if none). Decisions
    depend on nothing else, so they are cached per action table.
    """
    key = (tag, vr, context, scheme if tag in keep.CODE_COMPONENT_TAGS else "")
    rule = run.table.memo.get(key)
    if rule is None:
        rule = run.table.memo[key] = _decide(run, tag, vr, context, scheme)
    return rule


def positioned(rule: Rule, tag: int, vr: str, prefix: str, sop_class: str | None) -> Rule:
    """The rule where the element stands: a Z on a sequence that the file's IOD does not require there
    (Type 3, or not in the IOD) removes it instead, since an empty sequence is invalid where the module
    asks for one or more items (see sequence_types). Every other rule is returned as it is."""
    if rule.op is not Op.EMPTY or vr != "SQ":
        return rule
    keyword = keyword_of(tag)
    if keyword and required_where_it_stands(sop_class, parent_keywords(prefix), keyword):
        return rule
    return Rule(Op.REMOVE, OPTIONAL_SEQUENCE, rule.decided_by)


def _decide(run: Run, tag: int, vr: str, context: str, scheme: str) -> Rule:
    group = tag >> 16
    if group in OVERLAY_GROUPS:
        return run.table.overlay
    if group in CURVE_GROUPS:
        return run.table.curve
    if tag & 0xFFFF == 0:
        return GROUP_LENGTH                            # stale once anything changes; retired anyway
    if tag == TRAILING_PADDING:
        return PADDING
    if tag in keep.CODE_COMPONENT_TAGS:
        return KEEP if context == RETAIN_CONTEXT else code_component_rule(run, scheme, tag)
    return run.table.rules.get(tag) or unlisted_rule(run, tag, vr, context)


def unlisted_rule(run: Run, tag: int, vr: str, context: str) -> Rule:
    """An element Table E.1-1 does not list: decided by what its VR can carry."""
    options = run.table.options
    if vr in keep.TEXT_VRS:
        if tag in keep.KEEP_TEXT_TAGS:
            return KEEP
        if tag in keep.REQUIRED_FREE_TEXT:
            return _required_text_rule(run, keep.REQUIRED_FREE_TEXT[tag], context)
        return _context_text_rule(run, vr, context)
    if vr == "UN":
        return UNLISTED_UN
    if vr in keep.DATE_VRS:
        if options.dates == "full":
            return Rule(Op.KEEP, "K", "rtnLongFullDatesOpt")
        if options.dates == "shift":
            return Rule(Op.SHIFT, "C:unlisted_date", "rtnLongModifDatesOpt")
        if context == DUMMY_CONTEXT:
            return Rule(Op.DUMMY, "D:unlisted_date", "unlisted")
        return Rule(Op.REMOVE, "X:unlisted_date", "unlisted")
    if vr == "UI":
        if options.retain_uids or tag in keep.DEFINITION_UID_TAGS:
            return KEEP
        return UNLISTED_UID
    if vr == "AS" and not options.retain_patient_characteristics:
        return UNLISTED_AGE
    if vr == "SQ":
        return UNLISTED_SEQUENCE
    return KEEP


def _required_text_rule(run: Run, action: str, context: str) -> Rule:
    """Free text an IOD requires: cleaned when possible, else emptied (Type 2) or dummied (Type 1)."""
    cleaning = run.table.options.clean_descriptors or context == CLEAN_CONTEXT
    if run.text_cleaner is not None and cleaning:
        return Rule(Op.CLEAN_TEXT, "C:required_text", "required_text")
    if action == "D" or context == DUMMY_CONTEXT:
        return Rule(Op.DUMMY, "D:required_text", "required_text")
    return Rule(Op.EMPTY, "Z:required_text", "required_text")


def _context_text_rule(run: Run, vr: str, context: str) -> Rule:
    """Free text not in the table: removed, unless a D or C sequence asked for its items to be kept."""
    if context == PLAIN or context == RETAIN_CONTEXT:
        return Rule(Op.REMOVE, "X:unlisted_text_vr", "unlisted")
    if vr == "PN":
        return Rule(Op.PSEUDO_PERSON, "D:unlisted_text_vr", "unlisted")
    if context == CLEAN_CONTEXT and run.text_cleaner is not None and vr in CLEANABLE:
        return Rule(Op.CLEAN_TEXT, "C:unlisted_text_vr", "unlisted")
    return Rule(Op.DUMMY, "D:unlisted_text_vr", "unlisted")


def code_component_rule(run: Run, scheme: str, tag: int) -> Rule:
    """Codes from public schemes are kept; codes of local schemes are pseudonymised (see keep_lists)."""
    if scheme in keep.PUBLIC_CODING_SCHEMES:
        return KEEP
    if tag == keep.CODE_MEANING_TAG:
        if run.text_cleaner is not None and run.table.options.clean_descriptors:
            return Rule(Op.CLEAN_TEXT, "C:local_code", "local_code")
        return Rule(Op.DUMMY, "D:local_code", "local_code")
    if tag == keep.CODING_SCHEME_VERSION_TAG:
        return Rule(Op.REMOVE, "X:local_code", "local_code")
    if tag == keep.CODING_SCHEME_UID_TAG:
        return Rule(Op.UID, "U:local_code", "local_code")
    return Rule(Op.LOCAL_CODE, "D:local_code", "local_code")


def is_safe_private_value(vr: str, value: bytes | None) -> bool:
    """A safe-private element must hold what the list says (numbers or codes), not text."""
    if vr not in keep.SAFE_PRIVATE_STORED_VRS:
        return False
    if vr == "UN" and value is not None:
        return len(value) <= 64 and all(byte in _CODE_OR_NUMBER for byte in value)
    return True


_CODE_OR_NUMBER = frozenset(b"0123456789+-.eE \\_ABCDEFGHIJKLMNOPQRSTUVWXYZ\x00")


def safe_private_tags(elements: dict[int, tuple[str, bytes | str | None]]) -> set[int]:
    """Private tags (data elements and their creators) to keep under Retain Safe Private.

    `elements`: private tag -> (stored VR, value as stored) for one dataset or item.
    """
    creators = {}
    for tag, (_, value) in elements.items():
        if 0x10 <= tag & 0xFFFF <= 0xFF:
            creators[(tag >> 16, tag & 0xFFFF)] = _text(value)
    kept: set[int] = set()
    for tag, (vr, value) in elements.items():
        group, element = tag >> 16, tag & 0xFFFF
        if element < 0x1000 or group < 0x0009:
            continue
        creator = creators.get((group, element >> 8))
        if creator and keep.is_safe_private(creator, group, element) and is_safe_private_value(
                vr, value if isinstance(value, bytes) else None):
            kept.update({tag, (group << 16) | (element >> 8)})
    return kept


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1").strip(" \x00")
    return str(value or "").strip(" \x00")
