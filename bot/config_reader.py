"""Reading a YAML mapping key by key, collecting every problem with its key path."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any


class Section:
    """Reads one mapping of the YAML, collecting problems instead of failing on the first."""

    def __init__(self, data: Any, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        self.seen: set[str] = set()
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self.fail("", "must be a mapping of keys to values")
            data = {}
        self.data: Mapping[str, Any] = data

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, message: str) -> None:
        where = self.key(name) if name else (self.path or "(top level)")
        self.problems.append(f"{where}: {message}")

    def get(self, name: str, default: Any = None) -> Any:
        self.seen.add(name)
        return self.data.get(name, default)

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.get(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return default
        if not isinstance(value, str) or not value.strip():
            self.fail(name, "must be a non-empty string")
            return default
        return value.strip()

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.get(name, [])
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(name, "must be a list of strings")
            return ()
        return tuple(v.strip() for v in value)

    def section(self, name: str) -> Section:
        return Section(self.get(name), self.key(name), self.problems)

    def finish(self) -> None:
        for unknown in sorted(set(self.data) - self.seen, key=str):
            hint = difflib.get_close_matches(str(unknown), sorted(self.seen), n=1)
            suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
            known = ", ".join(sorted(self.seen))
            self.fail(str(unknown), f"unknown key{suffix}; known keys here: {known}")

    def integer(self, name: str, default: int, *, minimum: int = 0,
                maximum: int | None = None) -> int:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (
                maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            self.fail(name, f"must be a whole number of at least {minimum}{upper}")
            return default
        return value

    def items(self, name: str) -> list[Section]:
        """A list of mappings, each read as a section named `name[i]`."""
        value = self.get(name, [])
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(name, "must be a list")
            return []
        return [Section(v, f"{self.key(name)}[{i}]", self.problems) for i, v in enumerate(value)]
