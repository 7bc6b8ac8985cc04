"""The CJK font for generated letters: WenQuanYi Micro Hei from the Debian package fonts-wqy-microhei.

It carries Latin and Chinese glyphs, so one font serves zh-CN and English letters. The path can be
changed with ARREARS_CJK_FONT (a .ttf, or a .ttc whose first face is used).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from arrears.core.errors import ArrearsError

DEFAULT_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FONT_NAME = "ArrearsCJK"

_lock = threading.Lock()
_registered: Path | None = None


class FontMissing(ArrearsError):
    status_code = 500
    code = "font_missing"


def font_path() -> Path:
    return Path(os.environ.get("ARREARS_CJK_FONT") or DEFAULT_FONT)


def register_cjk_font(path: Path | None = None) -> str:
    """Register the font with reportlab once; a clear error when the file is not there."""
    global _registered
    chosen = path or font_path()
    with _lock:
        if _registered == chosen:
            return FONT_NAME
        if not chosen.is_file():
            raise FontMissing(
                f"the CJK font {chosen} is missing: install the Debian package fonts-wqy-microhei "
                "(apt-get install fonts-wqy-microhei) or point ARREARS_CJK_FONT at a TrueType font with Chinese glyphs"
            )
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        try:
            font = TTFont(FONT_NAME, str(chosen), subfontIndex=0)
        except Exception as exc:  # reportlab raises its own TTFError and friends
            raise FontMissing(f"the CJK font {chosen} cannot be read: {exc}") from None
        pdfmetrics.registerFont(font)
        _registered = chosen
        return FONT_NAME
