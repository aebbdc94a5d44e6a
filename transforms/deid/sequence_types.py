"""Whether the file's IOD requires a sequence where it stands: the question behind a Z on a sequence.

PS3.15 writes X/Z where an attribute is Type 3 in some IODs and Type 2 in others, and Z alone for
sequences that are Type 2 in the IODs its authors had in mind. The action table takes the Z (valid in
every IOD for a plain element). For a sequence it is not: an empty Type 3 sequence breaks "one or more
items shall be included" (dciodvfy: "Bad Sequence number of Items 0 (1-n Required by Module
definition)"), an error the input did not have. So the header step keeps an emptied sequence only where
the IOD requires the attribute present (Type 1, 1C, 2 or 2C at that position) and removes it elsewhere;
removing an attribute discloses less than emptying it.

The module tables are PS3.3 as highdicom ships them (MIT, `highdicom/_standard/*.json`), read directly
and once per process (about 0.3 s; only files with such a sequence pay it, the first time). A SOP class
highdicom does not know (a private class, none at all) is judged against every module.
"""

from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from functools import cache, lru_cache
from pathlib import Path

from pydicom.datadict import keyword_for_tag

REQUIRED_TYPES = frozenset({"1", "1C", "2", "2C"})
HIGHDICOM_TABLES = ("sop_class_iod_map.json", "iod_module_map.json", "module_attribute_map.json")


@cache
def _standard_dir() -> Path:
    spec = importlib.util.find_spec("highdicom")          # its data only: the package is never imported
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("highdicom (the PS3.3 module tables) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "_standard"


def _load(name: str):
    return json.loads((_standard_dir() / name).read_text(encoding="utf-8"))


Placement = tuple[str, tuple[str, ...], str]          # (module, parent keywords, type)


@cache
def _tables() -> tuple[dict[str, str], dict[str, frozenset[str]], dict[str, tuple[Placement, ...]]]:
    """(SOP class -> IOD, IOD -> modules, keyword -> its placements in every module)."""
    classes, iods, modules = (_load(name) for name in HIGHDICOM_TABLES)
    by_keyword: dict[str, list[Placement]] = defaultdict(list)
    for module, attributes in modules.items():
        for attribute in attributes:
            by_keyword[attribute["keyword"]].append((module, tuple(attribute["path"]), str(attribute["type"])))
    iod_modules = {iod: frozenset(m["key"] for m in entries) for iod, entries in iods.items()}
    return classes, iod_modules, {k: tuple(v) for k, v in by_keyword.items()}


@lru_cache(maxsize=4096)
def required_where_it_stands(sop_class_uid: str | None, parents: tuple[str, ...], keyword: str) -> bool:
    """True when the IOD of `sop_class_uid` (every IOD when unknown) has `keyword` as Type 1, 1C, 2 or
    2C inside the sequences `parents` (keywords from the top level down; () at the top level)."""
    classes, iod_modules, by_keyword = _tables()
    iod = classes.get(sop_class_uid or "")
    modules = iod_modules.get(iod) if iod else None
    return any(path == parents and kind in REQUIRED_TYPES and (modules is None or module in modules)
               for module, path, kind in by_keyword.get(keyword, ()))


def parent_keywords(prefix: str) -> tuple[str, ...]:
    """Keywords of the sequences an element path prefix runs through ("00400275[0].00081110[0]." ->
    ("RequestAttributesSequence", "ReferencedStudySequence")); a private or unknown tag gives ""."""
    keywords = []
    for part in prefix.split(".")[:-1]:
        keywords.append(keyword_for_tag(int(part.split("[", 1)[0], 16)) or "")
    return tuple(keywords)
