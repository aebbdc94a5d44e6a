"""The reviewer's contact sheet of a run: published (de-identified) frames with the redacted regions
outlined, and the leakage figures. It reads only gold files, never identified data."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from transforms.pixels.frames import FrameReader, UndecodableFrameError
from transforms.pixels.prepare import display_grey, to_rgb
from transforms.text_types import Box

THUMB = 320
OUTLINE = (255, 64, 64)
KEPT_TEXT = (64, 200, 255)


@dataclass(frozen=True)
class SheetItem:
    gold_path: Path            # a published file
    label: str                 # PHI-free: pseudonym / modality / syntax
    frame: int
    redacted: tuple[Box, ...]
    kept_text: tuple[Box, ...] = ()


def contact_sheet(items: list[SheetItem], columns: int = 4) -> Image.Image:
    """Thumbnails in a grid: redacted boxes outlined in red, text kept on purpose in blue."""
    tiles = [_tile(item) for item in items]
    rows = max(1, -(-len(tiles) // columns))
    sheet = Image.new("RGB", (columns * THUMB, rows * (THUMB + 18)), (24, 24, 24))
    for index, tile in enumerate(tiles):
        x, y = (index % columns) * THUMB, (index // columns) * (THUMB + 18)
        sheet.paste(tile, (x, y + 18))
        ImageDraw.Draw(sheet).text((x + 4, y + 3), items[index].label[:48], fill=(230, 230, 230))
    return sheet


def _tile(item: SheetItem) -> Image.Image:
    try:
        image = _frame_image(item)
    except UndecodableFrameError as exc:
        # A published file without pixel data (a structured report, an RT plan) is normal: the sheet says
        # so in its tile (the reason code only) instead of failing the run after gold is written.
        return _placeholder(exc.reason)
    scale = THUMB / max(image.size)
    draw = ImageDraw.Draw(image)
    for boxes, colour in ((item.redacted, OUTLINE), (item.kept_text, KEPT_TEXT)):
        for box in boxes:
            draw.rectangle((box.left, box.top, box.right, box.bottom), outline=colour,
                           width=max(1, round(2 / scale)))
    image.thumbnail((THUMB, THUMB))
    tile = Image.new("RGB", (THUMB, THUMB), (0, 0, 0))
    tile.paste(image, ((THUMB - image.width) // 2, (THUMB - image.height) // 2))
    return tile


def _frame_image(item: SheetItem) -> Image.Image:
    with FrameReader(item.gold_path) as reader:
        frame = reader.decode_frame(item.frame)
        if frame.ndim == 3:
            return Image.fromarray(np.asarray(to_rgb(frame, reader.info), dtype=np.uint8))
        return Image.fromarray(display_grey(frame, reader.info, reader.header)).convert("RGB")


def _placeholder(reason: str) -> Image.Image:
    tile = Image.new("RGB", (THUMB, THUMB), (0, 0, 0))
    ImageDraw.Draw(tile).text((12, THUMB // 2 - 6), reason.replace("_", " "), fill=(160, 160, 160))
    return tile


def report_html(title: str, figures: dict[str, object], sheet_name: str) -> str:
    rows = "\n".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                     for k, v in figures.items())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;background:#181818;color:#eee}th{text-align:left;"
            "padding-right:1em}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><table>{rows}</table>"
            "<p>Red: regions redacted. Blue: text kept on purpose (not PHI). Only published, de-identified "
            f"files are shown.</p><img src='{html.escape(sheet_name)}' alt='contact sheet'></body></html>")
