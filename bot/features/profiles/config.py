"""The `tags:` config section: synonyms across languages, so "wideo", "film" and "video"
meet in matching, finding, sharing and rounds."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config_reader import ConfigSection
from rooms.topology import NetworkConfig


def _norm(tag: str) -> str:
    return " ".join(tag.casefold().lstrip("#").split())


@dataclass(frozen=True)
class TagsConfig:
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _canonical: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def canonical(self, tag: str) -> str:
        """The tag matching compares: a synonym's head word, else the tag itself."""
        return self._canonical.get(tag, tag)


def parse_synonyms(sec: ConfigSection, _network: NetworkConfig) -> TagsConfig:
    raw = sec.get("synonyms", {}) or {}
    synonyms: dict[str, tuple[str, ...]] = {}
    canonical: dict[str, str] = {}
    if not isinstance(raw, dict):
        sec.fail("synonyms", "must map a tag to a list of its synonyms")
        raw = {}
    for head, words in raw.items():
        if not isinstance(head, str) or not isinstance(words, list) or not all(
                isinstance(w, str) for w in words):
            sec.fail(f"synonyms.{head}", "must be a list of words")
            continue
        key = _norm(head)
        synonyms[key] = tuple(_norm(w) for w in words)
        for word in (key, *synonyms[key]):
            if word in canonical and canonical[word] != key:
                sec.fail(f"synonyms.{head}", f"'{word}' is already a synonym of "
                                             f"'{canonical[word]}'")
            canonical.setdefault(word, key)
    return TagsConfig(synonyms, canonical)
