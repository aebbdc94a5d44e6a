"""What a transfer syntax means for us: compressed or not, lossy or not (one table, used everywhere)."""

from __future__ import annotations

import pydicom.uid as uid
from pydicom.dataset import Dataset

# Syntaxes whose encoding discards information. JPEG 2000 (.91) and HTJ2K (.203) may be lossless or
# lossy: they count as lossy unless the header says LossyImageCompression = 00 (conservative).
ALWAYS_LOSSY = frozenset({
    uid.JPEGBaseline8Bit, uid.JPEGExtended12Bit, uid.JPEGLSNearLossless,
    *uid.MPEGTransferSyntaxes,
})
MAYBE_LOSSY = frozenset({uid.JPEG2000, uid.JPEG2000MC, uid.UID("1.2.840.10008.1.2.4.203")})


def is_compressed(ts: uid.UID | None) -> bool:
    return bool(ts) and ts.is_compressed


def is_lossy(ts: uid.UID | None, ds: Dataset | None = None) -> bool:
    """True when the stored pixels were (or may have been) lossy-compressed."""
    if ds is not None and str(ds.get("LossyImageCompression", "")).strip() == "01":
        return True
    if ts in ALWAYS_LOSSY:
        return True
    if ts in MAYBE_LOSSY:
        return not (ds is not None and str(ds.get("LossyImageCompression", "")).strip() == "00")
    return False


def name_of(ts: uid.UID | None) -> str | None:
    if not ts:
        return None
    return ts.name if ts.is_transfer_syntax else "unknown"
