"""Where the generator's fonts are: the files of the Debian font packages that `make install` puts in
(fonts-dejavu-core, fonts-liberation2, fonts-urw-base35). One table, read by the classic and the realistic
styles, the scorer's glyph rendering and the tests that draw text."""

from __future__ import annotations

_DEJAVU = "/usr/share/fonts/truetype/dejavu/"
_LIBERATION = "/usr/share/fonts/truetype/liberation2/"
_URW = "/usr/share/fonts/opentype/urw-base35/"
FONT_PACKAGES = {_DEJAVU: "fonts-dejavu-core", _LIBERATION: "fonts-liberation2", _URW: "fonts-urw-base35"}
FONT_FILES: dict[str, str] = {
    "DejaVuSans": _DEJAVU + "DejaVuSans.ttf",
    "DejaVuSans-Bold": _DEJAVU + "DejaVuSans-Bold.ttf",
    "DejaVuSansMono": _DEJAVU + "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold": _DEJAVU + "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif": _DEJAVU + "DejaVuSerif.ttf",
    "LiberationSans": _LIBERATION + "LiberationSans-Regular.ttf",
    "LiberationSans-Bold": _LIBERATION + "LiberationSans-Bold.ttf",
    "LiberationSans-Italic": _LIBERATION + "LiberationSans-Italic.ttf",
    "LiberationSerif": _LIBERATION + "LiberationSerif-Regular.ttf",
    "LiberationSerif-Bold": _LIBERATION + "LiberationSerif-Bold.ttf",
    "LiberationMono": _LIBERATION + "LiberationMono-Regular.ttf",
    "LiberationMono-Bold": _LIBERATION + "LiberationMono-Bold.ttf",
    "NimbusSans": _URW + "NimbusSans-Regular.otf",
    "NimbusSans-Bold": _URW + "NimbusSans-Bold.otf",
    "NimbusSansNarrow": _URW + "NimbusSansNarrow-Regular.otf",
    "NimbusSansNarrow-Bold": _URW + "NimbusSansNarrow-Bold.otf",
    "NimbusMonoPS": _URW + "NimbusMonoPS-Regular.otf",
    "NimbusMonoPS-Bold": _URW + "NimbusMonoPS-Bold.otf",
    "NimbusRoman": _URW + "NimbusRoman-Regular.otf",
    "URWGothic-Book": _URW + "URWGothic-Book.otf",
    "URWGothic-Demi": _URW + "URWGothic-Demi.otf",
    "C059-Roman": _URW + "C059-Roman.otf",
    "P052-Roman": _URW + "P052-Roman.otf",
    "URWBookman-Light": _URW + "URWBookman-Light.otf",
}
