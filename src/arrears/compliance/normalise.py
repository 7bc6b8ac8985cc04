"""Canonical forms of a text for content screening, each with a map back to the original text.

Screening matches lexicon terms against canonical *views* of a text, never against the raw
text, so that evasive spellings meet the same terms as plain ones. Every view keeps a map
from its positions to positions in the original text, so a flag can always report where in
the ORIGINAL text the offending words are (`start`/`end`, Python slice semantics).

Steps and views (pure functions, no I/O beyond reading the shipped table once):

* **fold** — per character: Unicode NFKC (full-width letters and punctuation, compatibility
  ideographs, circled and mathematical letters), lower case, then traditional → simplified
  Chinese through the shipped table `lexicons/trad_simp.txt`. A character may expand
  (a ligature "ﬁ" becomes "fi"), so the folded text keeps a map to the original.
* **character classes** — one byte per character, computed from the first UTF-8 byte with a
  256-entry table (`bytes.translate`, no per-character Python): ``c`` CJK ideograph
  (U+4000–U+9FFF), ``a`` ASCII letter, ``U`` ASCII capital, ``d`` ASCII digit, ``p`` sentence
  punctuation (``, ; : ! ?``), ``x`` any other letter or mark (kana, Cyrillic, 。、), and
  ``" "`` a *separator* (whitespace, other ASCII punctuation and symbols, U+0080–U+00BF,
  U+2000–U+2FFF general punctuation and symbols, emoji and everything beyond the BMP).
* **words** (the Latin view) — ASCII letters (lower-cased), digits (all written ``0``: only
  a number's shape matters here) and ``*`` are token characters, everything else separates. Tokens are joined by one space and padded with one
  space at each end, so a lexicon key ``" kill you "`` matches whole tokens only and ``"sb"``
  never matches inside "subway". ``*`` is stripped at token edges (emphasis) but kept inside
  ("f*ck"). A run of two or more one-character tokens is joined ("s b" → "sb",
  "k.i.l.l" → "kill") to undo spacing evasion.
* **cjk** (the Chinese view) — the folded text with a separator run deleted when a CJK
  ideograph touches it and one of the two neighbouring segments is a single character
  ("傻 逼", "杀.你.全.家", "操你 妈" → joined), so ordinary spacing between words
  ("您好 张三") is left alone. Sentence punctuation never joins.

`normalise()` is the exact reference implementation; the screener has an equivalent fast
path for the common case (no folding needed) and tests check the two agree.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = [
    "CLASS_TABLE",
    "CONTINUATION",
    "SINGLE_RUN",
    "WORD_TABLE",
    "Normalised",
    "char_classes",
    "cjk_view",
    "fold",
    "is_cjk",
    "normalise",
    "trad_to_simp",
    "word_bytes",
    "word_text",
    "word_text_from_bytes",
    "word_view",
    "word_view_from_bytes",
]

# UTF-8 continuation bytes: deleting them leaves exactly one byte per character.
CONTINUATION = bytes(range(0x80, 0xC0))
_SENTENCE_PUNCT = b",;:!?"


def _build_word_table() -> bytes:
    table = bytearray(b" " * 256)
    for b in b"abcdefghijklmnopqrstuvwxyz*":
        table[b] = b
    for b in b"0123456789":
        table[b] = ord("0")  # only a number's shape matters to a Latin key or a digit-shape key
    for b in range(ord("A"), ord("Z") + 1):
        table[b] = b + 32
    return bytes(table)


def _build_class_table() -> bytes:
    table = bytearray(b" " * 256)
    for b in range(256):
        if b < 0x80:
            ch = chr(b)
            if "0" <= ch <= "9":
                table[b] = ord("d")
            elif "a" <= ch <= "z":
                table[b] = ord("a")
            elif "A" <= ch <= "Z":
                table[b] = ord("U")
            elif b in _SENTENCE_PUNCT:
                table[b] = ord("p")
            else:
                table[b] = ord(" ")  # whitespace, control, other ASCII punctuation and symbols
        elif b < 0xC0:
            table[b] = ord("x")  # never looked up: continuation bytes are deleted first
        elif b == 0xC2 or b == 0xE2 or b >= 0xF0:
            table[b] = ord(" ")  # U+0080–00BF, U+2000–2FFF, beyond the BMP (emoji)
        elif 0xE4 <= b <= 0xE9:
            table[b] = ord("c")  # U+4000–U+9FFF
        else:
            table[b] = ord("x")
    return bytes(table)


WORD_TABLE = _build_word_table()
CLASS_TABLE = _build_class_table()

_TOKEN = re.compile(rb"[^ ]+")
SINGLE_RUN = re.compile(rb" [^ ] [^ ] ")  # two one-character tokens in a row: "s b"
# a whole run of one-character tokens, each between single spaces ("s b", "k i l l")
_SINGLE_RUNS = re.compile(rb"(?<= )[^ ](?: [^ ])+(?= )")
_SEGMENT = re.compile(rb"[^ ]+")


def is_cjk(ch: str) -> bool:
    """The ideographs the Chinese view works on (U+4000–U+9FFF, as the class table says)."""
    return "\u4000" <= ch <= "\u9fff"


@cache
def trad_to_simp() -> dict[str, str]:
    """The shipped traditional → simplified table (`lexicons/trad_simp.txt`, one pair a line)."""
    text = resources.files("arrears.compliance").joinpath("lexicons/trad_simp.txt").read_text("utf-8")
    table: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 1 or len(parts[1]) != 1:
            raise ValueError(f"trad_simp.txt line {lineno}: expected 'TRADITIONAL SIMPLIFIED', got {raw!r}")
        table[parts[0]] = parts[1]
    return table


_FOLD_CACHE: dict[str, str] = {}


def _fold_char(ch: str) -> str:
    out = _FOLD_CACHE.get(ch)
    if out is None:
        nk = unicodedata.normalize("NFKC", ch).lower()
        table = trad_to_simp()
        out = "".join(table.get(c, c) for c in nk)
        if len(_FOLD_CACHE) < 100_000:
            _FOLD_CACHE[ch] = out
    return out


def fold(text: str) -> tuple[str, list[int] | None]:
    """NFKC + lower case + traditional→simplified, per character.

    Returns the folded text and a map (folded index → original index), or None when every
    character folded to exactly one character (positions are then the same).
    """
    if text.isascii():  # NFKC leaves ASCII alone and there is nothing to simplify
        return text.lower(), None
    pieces = [_fold_char(ch) for ch in text]
    folded = "".join(pieces)
    if len(folded) == len(text):
        return folded, None
    mapping: list[int] = []
    for i, piece in enumerate(pieces):
        mapping.extend([i] * len(piece))
    return folded, mapping


def char_classes(text: str) -> bytes:
    """One class byte per character (see the module docstring)."""
    return text.encode("utf-8", "surrogatepass").translate(CLASS_TABLE, CONTINUATION)


def word_bytes(text: str) -> bytes:
    """The Latin view before tokenising: one byte per character, token characters or spaces."""
    return text.encode("utf-8", "surrogatepass").translate(WORD_TABLE, CONTINUATION)


def word_view(text: str) -> tuple[str, list[int]]:
    """The padded Latin view of an (already folded) text and its map to positions in `text`.

    Separators in the view map to -1; token characters map to their position in `text`.
    """
    return word_view_from_bytes(word_bytes(text))


def word_text(text: str) -> str:
    """The padded Latin view alone (no map): what `word_view(text)[0]` returns, computed fast."""
    return word_text_from_bytes(word_bytes(text)).decode("ascii")


def word_text_from_bytes(wbytes: bytes) -> bytes:
    """`word_view_from_bytes(wbytes)[0]` as bytes, without the map and without a per-character loop:
    '*' stripped at token edges, empty tokens dropped, runs of one-character tokens joined."""
    tokens = wbytes.split()
    if b"*" in wbytes:
        tokens = [t for t in (t.strip(b"*") for t in tokens) if t]
    wb = b" " + b" ".join(tokens) + b" "
    if SINGLE_RUN.search(wb):
        wb = _SINGLE_RUNS.sub(_join_run, wb)
    return wb


def _join_run(m: re.Match[bytes]) -> bytes:
    return m.group().replace(b" ", b"")


def word_view_from_bytes(wbytes: bytes) -> tuple[str, list[int]]:
    """The padded Latin view and its map from the one-byte-per-character word bytes."""
    spans: list[tuple[int, int]] = []
    for m in _TOKEN.finditer(wbytes):
        s, e = m.span()
        if wbytes[s] == 0x2A or wbytes[e - 1] == 0x2A:  # '*' at a token's edge is emphasis, not a letter
            while s < e and wbytes[s] == 0x2A:
                s += 1
            while e > s and wbytes[e - 1] == 0x2A:
                e -= 1
            if s == e:
                continue
        spans.append((s, e))
    pieces: list[bytes] = []
    mapping: list[int] = [-1]
    i, n = 0, len(spans)
    while i < n:
        s, e = spans[i]
        j = i
        if e - s == 1:
            while j + 1 < n and spans[j + 1][1] - spans[j + 1][0] == 1:
                j += 1
        if j > i:  # "s b", "k i l l": one-letter tokens in a row are one spaced-out word
            positions = [spans[k][0] for k in range(i, j + 1)]
            pieces.append(bytes(wbytes[p] for p in positions))
            mapping.extend(positions)
            i = j + 1
        else:
            pieces.append(wbytes[s:e])
            mapping.extend(range(s, e))
            i += 1
        mapping.append(-1)
    if not pieces:
        mapping.append(-1)
    return (b" " + b" ".join(pieces) + b" ").decode("ascii"), mapping


def cjk_view(text: str, classes: bytes | None = None) -> tuple[str, list[int] | None]:
    """The Chinese view of an (already folded) text and its map to positions in `text`.

    Returns the map None when nothing was deleted (positions are then the same).
    """
    cls = classes if classes is not None else char_classes(text)
    segments = [(m.start(), m.end()) for m in _SEGMENT.finditer(cls)]
    deletions: list[tuple[int, int]] = []
    for (ls, le), (rs, re_) in itertools.pairwise(segments):
        touches_cjk = cls[le - 1] == 0x63 or cls[rs] == 0x63  # 'c'
        single = le - ls == 1 or re_ - rs == 1
        if touches_cjk and single:
            deletions.append((le, rs))
    if not deletions:
        return text, None
    pieces: list[str] = []
    mapping: list[int] = []
    pos = 0
    for ds, de in deletions:
        pieces.append(text[pos:ds])
        mapping.extend(range(pos, ds))
        pos = de
    pieces.append(text[pos:])
    mapping.extend(range(pos, len(text)))
    return "".join(pieces), mapping


@dataclass(frozen=True)
class Normalised:
    """All views of one text with their maps (reference implementation, see `normalise`)."""

    original: str
    folded: str
    fold_map: list[int] | None
    words: str
    words_map: list[int]
    cjk: str
    cjk_map: list[int] | None

    def _folded_to_original(self, start: int, end: int) -> tuple[int, int]:
        if self.fold_map is None:
            return start, end
        return self.fold_map[start], self.fold_map[end - 1] + 1

    def words_span(self, start: int, end: int) -> tuple[int, int]:
        """Original span of words[start:end] (which must start and end on token characters)."""
        return self._folded_to_original(self.words_map[start], self.words_map[end - 1] + 1)

    def cjk_span(self, start: int, end: int) -> tuple[int, int]:
        """Original span of cjk[start:end]."""
        if self.cjk_map is None:
            return self._folded_to_original(start, end)
        return self._folded_to_original(self.cjk_map[start], self.cjk_map[end - 1] + 1)


def normalise(text: str) -> Normalised:
    """Every view of `text`, computed the plain way (the screener's fast path must agree)."""
    folded, fmap = fold(text)
    words, wmap = word_view(folded)
    cjk, cmap = cjk_view(folded)
    return Normalised(text, folded, fmap, words, wmap, cjk, cmap)
