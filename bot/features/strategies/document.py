"""What a strategy's document holds, independent of how it is written out (`export.py`:
HTML, Markdown, JSON, CSV and OpenDocument): the process, its sections, every proposal
with its origin, endorsements, answer and vote results by location. Authors are not named:
a proposal speaks for its location."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

PHASES = ("proposals", "discussion", "vote", "result")


@dataclass(frozen=True)
class ProposalEntry:
    number: int
    section: str
    location: str  # the location key it came from
    place: str  # that location as people read it ("Rostock (DE)")
    text: str
    amended: int  # how many times its author amended it
    endorsements: int
    status: str  # open | accepted | declined | merged
    reason: str | None  # a coordinator's reason (declined), or None
    merged_into: int | None
    votes: dict[str, int] = field(default_factory=dict)  # location key → votes
    votes_total: int = 0


@dataclass(frozen=True)
class StrategyDocument:
    id: int
    title: str
    phase: str  # one of PHASES
    public: bool
    created_at: datetime
    locations: list[tuple[str, str]]  # (key, place), as configured
    sections: list[str]
    phase_ends: dict[str, datetime]  # phase → when it ends (those that have a date)
    proposals: list[ProposalEntry]  # by section, then number
    voters: dict[str, int] = field(default_factory=dict)  # location key → members who voted
