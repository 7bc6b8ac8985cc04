"""Interface language: Babel catalogs for zh_CN and en, chosen from the user's setting or the browser.

Catalogs live in `web/i18n/<locale>/LC_MESSAGES/messages.{po,mo}`; the compiled `.mo` files are
shipped. After changing texts:

    pybabel extract -F src/arrears/web/i18n/babel.cfg -o src/arrears/web/i18n/messages.pot src/arrears/web
    pybabel update -i src/arrears/web/i18n/messages.pot -d src/arrears/web/i18n
    pybabel compile -d src/arrears/web/i18n
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

CATALOGS = Path(__file__).resolve().parent / "i18n"
LOCALES = ("zh_CN", "en")
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(CATALOGS), locales=[locale], domain="messages")


def normalise(tag: str | None) -> str | None:
    """`zh-CN`, `zh_Hans`, `zh` → zh_CN; `en-US`, `en` → en; anything else → None."""
    if not tag:
        return None
    t = tag.strip().replace("-", "_").lower()
    if t.startswith("zh"):
        return "zh_CN"
    if t.startswith("en"):
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    """The best supported locale in an Accept-Language header (by q value, then order)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag))
    for neg_q, _, tag in sorted(ranked):
        locale = normalise(tag)
        if locale and neg_q < 0:
            return locale
    return None


def choose(*candidates: str | None, default: str = "zh_CN") -> str:
    for c in candidates:
        locale = normalise(c)
        if locale:
            return locale
    return normalise(default) or "zh_CN"


def gettext_for(locale: str) -> Callable[..., str]:
    """`_("Hello %(name)s", name=x)` for templates and pages."""
    t = translations(locale)

    def _(message: str, **params: Any) -> str:
        text = t.gettext(message)
        return text % params if params else text

    return _
