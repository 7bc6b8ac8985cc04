"""zh-CN and English: catalogs complete, compiled catalogs current, language negotiation."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from arrears.core.context import AppContext
from arrears.web import i18n
from arrears.web.app import create_app

WEB = Path(i18n.__file__).resolve().parent
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def _source_messages() -> set[str]:
    found = extract_from_dir(str(WEB), method_map=METHODS)
    return {msg if isinstance(msg, str) else msg[0] for _, _, msg, _, _ in found}


def _catalog(locale: str, ext: str) -> dict[str, str]:
    path = WEB / "i18n" / locale / "LC_MESSAGES" / f"messages.{ext}"
    with path.open("rb") as fh:
        cat = read_po(fh) if ext == "po" else read_mo(fh)
    return {str(m.id): str(m.string) for m in cat if m.id}


def test_every_text_has_a_chinese_translation() -> None:
    messages = _source_messages()
    assert "Sign in" in messages and len(messages) > 20
    zh = _catalog("zh_CN", "po")
    missing = sorted(m for m in messages if not zh.get(m))
    assert not missing, f"untranslated in zh_CN: {missing}"
    en = _catalog("en", "po")
    assert messages <= set(en), "en catalog lacks messages; run pybabel update"


def test_shipped_mo_matches_po() -> None:
    for locale in i18n.LOCALES:
        po = {k: v for k, v in _catalog(locale, "po").items() if v}
        assert _catalog(locale, "mo") == po, f"{locale}: recompile with pybabel compile"


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.5,zh;q=0.4", "en"),
        ("de;q=1.0, zh-TW;q=0.7", "zh_CN"),
        ("en;q=0.1, zh;q=0.8", "zh_CN"),
        ("fr", None),
        ("", None),
    ],
)
def test_accept_language(header: str, locale: str | None) -> None:
    assert i18n.from_accept_language(header) == locale


def test_login_page_in_both_languages(sqlite_ctx: AppContext) -> None:
    client = TestClient(create_app(sqlite_ctx))
    zh = client.get("/login", headers={"accept-language": "zh-CN,zh;q=0.9"}).text
    en = client.get("/login", headers={"accept-language": "en-US"}).text
    assert '<html lang="zh-CN">' in zh and "登录" in zh and "用户名" in zh
    assert '<html lang="en">' in en and "Sign in" in en and "Username" in en
    default = client.get("/login").text  # settings.default_locale
    assert '<html lang="zh-CN">' in default
