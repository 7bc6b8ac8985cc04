"""Phrase matching shared by the scorecard checks and the complaint triage: one Aho-Corasick pass.

Phrases are matched on `normalise`d text (lower case, half-width). A phrase that starts or ends with
an ASCII letter or digit must sit on a word boundary there, so `owe` does not match `however`; a
trailing `*` lifts the right boundary (`instal*` matches instalment, instalments). Chinese needs no
boundaries. Each phrase carries payloads (the groups or categories it belongs to).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import ahocorasick

from arrears.quality.conversation import normalise

T = TypeVar("T")
WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789'")


@dataclass(frozen=True, slots=True)
class Cue(Generic[T]):
    phrase: str
    payloads: tuple[T, ...]
    length: int
    left: bool  # needs a word boundary on the left
    right: bool  # … and on the right


class PhraseMatcher(Generic[T]):
    """All phrases in one automaton; `matches(text)` yields (start, end, cue) on normalised text."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        by_key: dict[str, tuple[list[T], bool, bool]] = {}
        for phrase, payload in entries:
            prefix = phrase.endswith("*")
            key = normalise(phrase.rstrip("*").strip())
            if not key:
                continue
            left = key[0] in WORD_CHARS
            right = key[-1] in WORD_CHARS and not prefix
            payloads, lb, rb = by_key.get(key, ([], left, right))
            if payload not in payloads:
                payloads.append(payload)
            by_key[key] = (payloads, lb, rb and right)
        self.size = len(by_key)
        self.automaton: Any = None
        if by_key:
            automaton = ahocorasick.Automaton()
            for key, (payloads, lb, rb) in by_key.items():
                automaton.add_word(key, Cue(key, tuple(payloads), len(key), lb, rb))
            automaton.make_automaton()
            self.automaton = automaton

    def matches(self, text: str) -> Iterator[tuple[int, int, Cue[T]]]:
        """(start, end, cue) for every phrase in `text` (already normalised), in order of end offset."""
        if self.automaton is None:
            return
        n = len(text)
        for last, cue in self.automaton.iter(text):
            start = last - cue.length + 1
            if cue.left and start > 0 and text[start - 1] in WORD_CHARS:
                continue
            if cue.right and last + 1 < n and text[last + 1] in WORD_CHARS:
                continue
            yield start, last + 1, cue
