"""Scorecards (质检评分表): versioned data files of weighted items, fatal items and cue lexicons.  # R23, R26

A scorecard is a YAML file. Built-in ones live next to this module as `<name>.v<version>.yaml`;
`load_scorecard("default-zh")` returns the newest version, `load_scorecard("default-zh@1")` a given one,
and any other argument is read as a path. A file may `extends: <name>[@version]` another scorecard:
its items replace the parent's items of the same id (field by field) or are appended, `remove_items`
drops parent items, `lexicon` replaces whole cue groups and `lexicon_add` appends to them.

Pure apart from reading the data files: parsing (`scorecard_from_mapping`) works on plain values.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from arrears.core.errors import NotFound, ValidationFailed

SCORECARD_DIR = Path(__file__).with_name("scorecards")

# The automatic checks a scorecard item may name (implemented in arrears.quality.autoscore).
CHECKS: frozenset[str] = frozenset(
    {
        "identification",
        "identity_before_debt",
        "amount_terms",
        "figures_match",
        "empathy",
        "solution_offered",
        "summary_next_step",
        "tone",
        "collector_disclosure",
        "conduct",
    }
)
# Conduct categories of the content screening (RULES.md, "Conduct categories").
CONDUCT_CATEGORIES: tuple[str, ...] = (
    "threat",
    "abuse",
    "impersonation",
    "disclosure",
    "shaming",
    "false_legal",
    "pressure",
    "deception",
    "privacy",
)
Mode = Literal["auto", "manual"]


@dataclass(frozen=True, slots=True)
class ScorecardItem:
    id: str
    title: str
    weight: float
    mode: Mode = "auto"
    check: str | None = None
    fatal: bool = False
    cite: str = ""
    title_en: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scorecard:
    name: str
    version: int
    language: str
    title: str
    items: tuple[ScorecardItem, ...]
    lexicon: Mapping[str, tuple[str, ...]]
    pass_mark: float = 80.0
    effective: date | None = None
    description: str = ""
    fingerprint: str = ""  # sha256 of the resolved content: ties a result to the exact standard used

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def item(self, item_id: str) -> ScorecardItem:
        for it in self.items:
            if it.id == item_id:
                return it
        raise NotFound(f"scorecard {self.ref} has no item {item_id!r}")


def _fail(source: str, where: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"scorecard {source}: {where}: {reason}")


_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _parse_item(raw: Any, index: int, source: str) -> ScorecardItem:
    where = f"items[{index}]"
    if not isinstance(raw, Mapping):
        raise _fail(source, where, "must be a mapping")
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not _ID.fullmatch(item_id):
        raise _fail(source, f"{where}.id", "must be a lower-case identifier such as identity_verified")
    where = f"item {item_id}"
    known = {"id", "title", "title_en", "weight", "mode", "check", "fatal", "cite", "params"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(source, f"{where}.{unknown[0]}", "unknown field")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise _fail(source, f"{where}.title", "is required")
    fatal = raw.get("fatal", False)
    if not isinstance(fatal, bool):
        raise _fail(source, f"{where}.fatal", "must be true or false")
    weight = raw.get("weight", 0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise _fail(source, f"{where}.weight", "must be a non-negative number")
    mode = raw.get("mode", "auto")
    if mode not in ("auto", "manual"):
        raise _fail(source, f"{where}.mode", "must be auto or manual")
    check = raw.get("check")
    if mode == "auto":
        if check not in CHECKS:
            raise _fail(
                source, f"{where}.check", f"must be one of {', '.join(sorted(CHECKS))}, got {check!r}"
            )
    elif check is not None:
        raise _fail(source, f"{where}.check", "a manual item has no automatic check")
    params = raw.get("params") or {}
    if not isinstance(params, Mapping):
        raise _fail(source, f"{where}.params", "must be a mapping")
    if check == "conduct" and params.get("category") not in CONDUCT_CATEGORIES:
        raise _fail(source, f"{where}.params.category", f"must be one of {', '.join(CONDUCT_CATEGORIES)}")
    return ScorecardItem(
        id=item_id,
        title=title.strip(),
        weight=float(weight),
        mode=mode,
        check=check,
        fatal=fatal,
        cite=str(raw.get("cite") or ""),
        title_en=raw.get("title_en"),
        params=dict(params),
    )


def _parse_lexicon(raw: Any, source: str, key: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail(source, key, "must be a mapping of group → list of phrases")
    out: dict[str, tuple[str, ...]] = {}
    for group, phrases in raw.items():
        if not isinstance(group, str) or not _ID.fullmatch(group):
            raise _fail(source, f"{key}.{group}", "group names are lower-case identifiers")
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise _fail(source, f"{key}.{group}", "must be a list of non-empty strings (quote yes/no/on/off)")
        out[group] = tuple(p.strip() for p in phrases)
    return out


_TOP = {
    "name",
    "version",
    "effective",
    "language",
    "title",
    "description",
    "pass_mark",
    "items",
    "lexicon",
    "lexicon_add",
    "extends",
    "remove_items",
}


def _merge(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """The resolved mapping of a child scorecard over its parent (both already plain mappings)."""
    merged = {k: v for k, v in parent.items() if k not in ("items", "lexicon")}
    merged.update(
        {
            k: v
            for k, v in child.items()
            if k not in ("items", "lexicon", "lexicon_add", "extends", "remove_items")
        }
    )
    removed = set(child.get("remove_items") or [])
    items: list[dict[str, Any]] = [dict(i) for i in parent.get("items") or [] if i.get("id") not in removed]
    index = {i.get("id"): n for n, i in enumerate(items)}
    for it in child.get("items") or []:
        if isinstance(it, Mapping) and it.get("id") in index:
            items[index[it["id"]]].update(it)
        else:
            items.append(it)
    merged["items"] = items
    lexicon = {g: list(p) for g, p in (parent.get("lexicon") or {}).items()}
    for g, p in (child.get("lexicon") or {}).items():
        lexicon[g] = list(p)
    for g, p in (child.get("lexicon_add") or {}).items():
        lexicon[g] = [*lexicon.get(g, []), *(p or [])]
    merged["lexicon"] = lexicon
    return merged


def scorecard_from_mapping(raw: Any, source: str = "<mapping>") -> Scorecard:
    """Validate a resolved scorecard mapping (no `extends`) into a Scorecard."""
    if not isinstance(raw, Mapping):
        raise _fail(source, "(file)", "must be a YAML mapping")
    unknown = sorted(set(raw) - _TOP)
    if unknown:
        raise _fail(source, unknown[0], "unknown field")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise _fail(source, "name", "must be a short name such as default-zh")
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _fail(source, "version", "must be a positive integer")
    language = raw.get("language")
    if not isinstance(language, str) or not language:
        raise _fail(source, "language", "is required (zh-CN, en, en-US …)")
    effective = raw.get("effective")
    if effective is not None and not isinstance(effective, date):
        try:
            effective = date.fromisoformat(str(effective))
        except ValueError as exc:
            raise _fail(source, "effective", "must be a date YYYY-MM-DD") from exc
    pass_mark = raw.get("pass_mark", 80)
    if isinstance(pass_mark, bool) or not isinstance(pass_mark, int | float) or not 0 <= pass_mark <= 100:
        raise _fail(source, "pass_mark", "must be a number from 0 to 100")
    items_raw = raw.get("items")
    if not isinstance(items_raw, list) or not items_raw:
        raise _fail(source, "items", "must be a non-empty list")
    items = tuple(_parse_item(it, n, source) for n, it in enumerate(items_raw))
    seen: set[str] = set()
    for it in items:
        if it.id in seen:
            raise _fail(source, f"item {it.id}", "duplicate id")
        seen.add(it.id)
    if sum(it.weight for it in items if not it.fatal) <= 0:
        raise _fail(source, "items", "the non-fatal items must carry some weight")
    lexicon = _parse_lexicon(raw.get("lexicon"), source, "lexicon")
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return Scorecard(
        name=name,
        version=version,
        language=language,
        title=str(raw.get("title") or name),
        items=items,
        lexicon=lexicon,
        pass_mark=float(pass_mark),
        effective=effective,
        description=str(raw.get("description") or "").strip(),
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest(),
    )


def builtin_scorecards() -> dict[str, list[int]]:
    """Built-in scorecard names → available versions (ascending)."""
    out: dict[str, list[int]] = {}
    for p in SCORECARD_DIR.glob("*.v*.yaml"):
        m = re.fullmatch(r"(.+)\.v(\d+)\.yaml", p.name)
        if m:
            out.setdefault(m.group(1), []).append(int(m.group(2)))
    return {k: sorted(v) for k, v in sorted(out.items())}


def _read_yaml(path: Path, source: str) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationFailed(f"scorecard {source}: cannot read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise _fail(source, where, f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from exc
    if not isinstance(data, Mapping):
        raise _fail(source, "(file)", "must be a YAML mapping")
    return data


def _builtin_path(ref: str) -> Path | None:
    name, _, ver = ref.partition("@")
    versions = builtin_scorecards().get(name)
    if not versions:
        return None
    if ver:
        if not ver.isdigit() or int(ver) not in versions:
            raise NotFound(
                f"scorecard {name} has no version {ver} (available: {', '.join(map(str, versions))})"
            )
        return SCORECARD_DIR / f"{name}.v{int(ver)}.yaml"
    return SCORECARD_DIR / f"{name}.v{versions[-1]}.yaml"


def _resolve(ref: str, base: Path | None, chain: Sequence[str]) -> dict[str, Any]:
    if ref in chain:
        raise ValidationFailed(f"scorecard {ref}: extends itself ({' → '.join([*chain, ref])})")
    path = _builtin_path(ref)
    if path is None:
        candidate = Path(ref) if base is None or Path(ref).is_absolute() else base / ref
        if not candidate.is_file():
            names = ", ".join(builtin_scorecards())
            raise NotFound(f"unknown scorecard {ref!r}: not a built-in ({names}) nor a readable file")
        path = candidate
    data = _read_yaml(path, ref)
    parent_ref = data.get("extends")
    if parent_ref is None:
        return dict(data)
    if not isinstance(parent_ref, str):
        raise _fail(ref, "extends", "must name a scorecard")
    parent = _resolve(parent_ref, path.parent, [*chain, ref])
    return _merge(parent, data)


@lru_cache(maxsize=64)
def _load_cached(ref: str, mtime: float) -> Scorecard:
    return scorecard_from_mapping(_resolve(ref, None, []), ref)


def load_scorecard(ref: str) -> Scorecard:
    """A built-in scorecard by `name` or `name@version`, or a scorecard file by path."""
    path = Path(ref)
    mtime = path.stat().st_mtime if _builtin_path(ref) is None and path.is_file() else 0.0
    return _load_cached(ref, mtime)


def default_scorecard_for(language: str) -> str:
    """The built-in scorecard for an interaction's language tag: zh* → default-zh, en-US → default-us."""
    tag = language.replace("_", "-").lower()
    if tag.startswith("zh"):
        return "default-zh"
    if tag in ("en-us", "en-us-x-fdcpa"):
        return "default-us"
    if tag.startswith("en"):
        return "default-en"
    raise NotFound(f"no default scorecard for language {language!r} (built-in: zh-CN, en, en-US)")
