"""The tables of the foundation: members, room settings, the sync position, handled events,
and the bot's own Matrix session."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Member(Base):
    """Someone the bot has met: a person, not a room membership."""

    __tablename__ = "members"

    mxid: Mapped[str] = mapped_column(String(255), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    organisation: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(32))
    languages: Mapped[str | None] = mapped_column(String(64))  # spoken: "pl,en"
    bio: Mapped[str | None] = mapped_column(Text)
    intro_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    connect_ok: Mapped[bool] = mapped_column(default=True)  # others may !connect / match
    rounds: Mapped[bool] = mapped_column(default=False)  # opted in to matchmaking rounds
    showcase: Mapped[bool] = mapped_column(default=False)  # consented to the public showcase


class RoomSetting(Base):
    """Per-room language and timezone (the network's rooms get theirs from provisioning)."""

    __tablename__ = "room_settings"

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    direct: Mapped[bool] = mapped_column(default=False)  # a direct chat (is_direct invite)


class SyncState(Base):
    """Where the sync stream was last fully handled; one row per bot account."""

    __tablename__ = "sync_state"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    next_batch: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HandledEvent(Base):
    """An event whose handling committed; a redelivered copy is ignored."""

    __tablename__ = "handled_events"
    __table_args__ = (Index("ix_handled_events_handled_at", "handled_at"),)

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BotSession(Base):
    """The device and access token obtained by a password login, kept across restarts."""

    __tablename__ = "bot_session"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(255))
    access_token: Mapped[str] = mapped_column(Text)
    homeserver: Mapped[str] = mapped_column(Text)


class NetworkRoom(Base):
    """A room of the network as provisioned: `key` is "space", "location:<k>", "topic:<k>"
    or "partners"."""

    __tablename__ = "network_rooms"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[str] = mapped_column(String(255), unique=True)
    alias: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RoomMembership(Base):
    """One stay of a member in a network room: from `since` until `until` (open: None)."""

    __tablename__ = "room_memberships"
    __table_args__ = (
        Index("ix_room_memberships_room_open", "room_id", "until"),
        Index("ix_room_memberships_mxid", "mxid"),
        Index("ix_room_memberships_since", "since"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    room_id: Mapped[str] = mapped_column(String(255))
    mxid: Mapped[str] = mapped_column(String(255))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended: Mapped[str | None] = mapped_column(String(8))  # leave | kick | ban
    imported: Mapped[bool] = mapped_column(default=False)


class MemberTag(Base):
    """What a member offers or needs, normalised ("video", "3d animation"); `canonical` is
    the tag after synonyms ("wideo" → "video"), which matching compares."""

    __tablename__ = "member_tags"
    __table_args__ = (
        Index("ix_member_tags_kind_tag", "kind", "tag"),
        Index("ix_member_tags_kind_canonical", "kind", "canonical", "mxid", "location"),
    )

    mxid: Mapped[str] = mapped_column(String(255), ForeignKey("members.mxid",
                                                              ondelete="CASCADE"),
                                      primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # offer | need
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)
    canonical: Mapped[str] = mapped_column(String(40))
    # the member's location, copied here so matching ranks from this index alone
    location: Mapped[str | None] = mapped_column(String(32))


class MemberChange(Base):
    """A member's tags or location changed, or the member was deleted: the feed an
    in-memory matching index reads to stay fresh (`mxid` None: everything changed, rebuild).
    Written in the same transaction as the change; old rows are pruned."""

    __tablename__ = "member_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    mxid: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class IntroCard(Base):
    """An introduction card posted in a room; edited rather than reposted within a day."""

    __tablename__ = "intro_cards"
    __table_args__ = (Index("ix_intro_cards_mxid_room", "mxid", "room_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    mxid: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(255))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PendingWelcome(Base):
    """A join waiting to be welcomed (gathered so that many joins get one message)."""

    __tablename__ = "pending_welcomes"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), index=True)
    mxid: Mapped[str] = mapped_column(String(255))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    batch: Mapped[str | None] = mapped_column(String(64))  # set once a welcome is being sent


class WelcomePost(Base):
    """A room's latest welcome: joins within the gathering window are added to it by an
    edit instead of a second message."""

    __tablename__ = "welcome_posts"

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    mxids: Mapped[str] = mapped_column(Text)  # everyone it welcomes, space-separated


class Connection(Base):
    """Two members put in touch by the bot (`!connect` or a matchmaking round)."""

    __tablename__ = "connections"
    __table_args__ = (Index("ix_connections_a", "a"), Index("ix_connections_b", "b"))

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    a: Mapped[str] = mapped_column(String(255))
    b: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16))  # connect | round
    round_id: Mapped[int | None] = mapped_column(ForeignKey("match_rounds.id"))
    cross_border: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class MatchRound(Base):
    """One matchmaking round: who was paired is in `round_groups`."""

    __tablename__ = "match_rounds"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    scope: Mapped[str | None] = mapped_column(String(64))  # None | location:<k> | topic:<k>
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    started_by: Mapped[str | None] = mapped_column(String(255))
    scheduled_for: Mapped[str | None] = mapped_column(String(255), unique=True)
    followup_at: Mapped[datetime] = mapped_column(UTCDateTime())
    followed_up: Mapped[bool] = mapped_column(default=False)


class RoundGroup(Base):
    """A pair (or, for the odd one out, a trio) of one round, with its private room."""

    __tablename__ = "round_groups"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("match_rounds.id", ondelete="CASCADE"),
                                          index=True)
    members: Mapped[str] = mapped_column(Text)  # sorted MXIDs joined by spaces
    cross_border: Mapped[bool] = mapped_column(default=False)
    room_id: Mapped[str | None] = mapped_column(String(255))
    question_event_id: Mapped[str | None] = mapped_column(String(255), index=True)


class RoundAnswer(Base):
    """A member's answer to "did you meet?" (the latest reaction wins)."""

    __tablename__ = "round_answers"

    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    mxid: Mapped[str] = mapped_column(String(255), primary_key=True)
    met: Mapped[bool]
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Collaboration(Base):
    __tablename__ = "collaborations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)  # planned|active|done|dropped
    origin: Mapped[str] = mapped_column(String(16))  # connection | round | direct
    origin_id: Mapped[int | None]
    topic: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    cross_border: Mapped[bool] = mapped_column(default=False)
    # the bot's notice asking the named members to confirm (✅ on it confirms)
    request_event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    request_room_id: Mapped[str | None] = mapped_column(String(255))


class CollaborationMember(Base):
    __tablename__ = "collaboration_members"
    __table_args__ = (Index("ix_collaboration_members_mxid", "mxid"),)

    collaboration_id: Mapped[int] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), primary_key=True)
    mxid: Mapped[str] = mapped_column(String(255), primary_key=True)
    location: Mapped[str | None] = mapped_column(String(32))  # where they were at the time
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: not yet


class CollaborationEvent(Base):
    """The history of a collaboration: status changes and notes."""

    __tablename__ = "collaboration_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    collaboration_id: Mapped[int] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    by: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))  # created | status | note
    status: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)


class ForumEvent(Base):
    """An annual forum or a smaller event, at a location, at a time in its timezone."""

    __tablename__ = "forum_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    capacity: Mapped[int | None]
    online_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # | cancelled
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    trigger: Mapped[str] = mapped_column(String(255), unique=True)  # the command's event id


class Announcement(Base):
    """Where an event was announced; reactions to these posts are RSVPs."""

    __tablename__ = "announcements"

    matrix_event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forum_events.id", ondelete="CASCADE"),
                                          index=True)
    room_id: Mapped[str] = mapped_column(String(255))


class Rsvp(Base):
    """A member's answer to an event; with a capacity, extra yeses wait in line."""

    __tablename__ = "rsvps"

    forum_id: Mapped[int] = mapped_column(ForeignKey("forum_events.id", ondelete="CASCADE"),
                                          primary_key=True)
    mxid: Mapped[str] = mapped_column(String(255), primary_key=True)
    answer: Mapped[str] = mapped_column(String(8))  # yes | maybe | no
    waitlisted: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    room_id: Mapped[str | None] = mapped_column(String(255))  # where they answered
    reaction_event_id: Mapped[str | None] = mapped_column(String(255), index=True)


class Reminder(Base):
    """One reminder occurrence: the database is the source of truth, the scheduler only a
    timer. pending → sending → sent, or missed when it fell due too long ago."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forum_events.id", ondelete="CASCADE"),
                                          index=True)
    offset: Mapped[str] = mapped_column(String(16))  # as configured: 30d, 2h …
    target: Mapped[str] = mapped_column(String(255))  # an MXID, or a room id (room reminder)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(8), default="pending")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RoomActivity(Base):
    """How many messages a network room had on a day: counts only, never content."""

    __tablename__ = "room_activity"
    __table_args__ = (Index("ix_room_activity_day", "day", "room_id", "count"),)

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class DigestSubscription(Base):
    """A room that gets the weekly digest (beside those configured), in a language."""

    __tablename__ = "digest_subscriptions"

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)  # False: unsubscribed (also config rooms)


class DigestDelivery(Base):
    """One digest per room per ISO week: the row makes a second one impossible."""

    __tablename__ = "digest_deliveries"

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    week: Mapped[str] = mapped_column(String(10), primary_key=True)  # 2027-W14
    state: Mapped[str] = mapped_column(String(8))  # sending | sent
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AdvisoryRequest(Base):
    """A question from an organisation outside the network, sent through the web form.
    `secret_hash` guards the private status link; the secret itself is never stored."""

    __tablename__ = "advisory_requests"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    organisation: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))  # None: erased after retention
    sector: Mapped[str] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    room_id: Mapped[str | None] = mapped_column(String(255))
    event_id: Mapped[str | None] = mapped_column(String(255))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the advisory workflow: who has it, when it moved, how it ended
    assignee: Mapped[str | None] = mapped_column(String(255), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last change or note
    outcome: Mapped[str | None] = mapped_column(String(16))  # helped|referred|declined|no_reply
    case_room_id: Mapped[str | None] = mapped_column(String(255))
    suggested: Mapped[str | None] = mapped_column(Text)  # advisors' MXIDs, comma-separated
    rating: Mapped[int | None] = mapped_column()  # 1–5, from the requester
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_version: Mapped[int] = mapped_column(default=0)  # bumped by every change
    notice_shown: Mapped[int] = mapped_column(default=0)  # the version the room notice shows


class Advisor(Base):
    """A member who offered to advise organisations outside the network; `tags` (canonical,
    comma-separated) are what they advise on — empty: their offers count."""

    __tablename__ = "advisors"

    mxid: Mapped[str] = mapped_column(String(255), ForeignKey("members.mxid",
                                                              ondelete="CASCADE"),
                                      primary_key=True)
    tags: Mapped[str] = mapped_column(Text, default="")
    since: Mapped[datetime] = mapped_column(UTCDateTime())


class AdviceEntry(Base):
    """One step in a request's life: who (a member's MXID, "requester" or "bot") did what
    (created, claimed, assigned, note, answered, replied, rated, closed, reopened, …)."""

    __tablename__ = "advice_entries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("advisory_requests.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(255), index=True)
    action: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class AdviceMessage(Base):
    """What travels between the network and a requester, sent once from this row: an answer
    by e-mail (`direction` "out") or the requester's reply into the case room ("in").
    `state`: pending → sending → sent, or failed (told in the case room)."""

    __tablename__ = "advice_messages"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("advisory_requests.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(4))
    author: Mapped[str | None] = mapped_column(String(255))  # the answering member
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(8), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AdviceDue(Base):
    """A follow-up that fell due once — raising an unclaimed request again, reminding an
    assignee, closing an answered request — recorded before it is sent, so it goes out
    once: `key` names the period it belongs to, unique per request and kind."""

    __tablename__ = "advice_dues"
    __table_args__ = (Index("ix_advice_dues_once", "request_id", "kind", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("advisory_requests.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # nudge | remind | close
    key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(8), default="sending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())



class StrategyProcess(Base):
    """A jointly written 10-year development strategy: covered locations and sections
    (comma-separated keys), its phase (proposals → discussion → vote → result), whether
    its document is public, and the secret key its private links carry."""

    __tablename__ = "strategy_processes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    locations: Mapped[str] = mapped_column(Text)
    sections: Mapped[str] = mapped_column(Text)
    phase: Mapped[str] = mapped_column(String(12), default="proposals")
    public: Mapped[bool] = mapped_column(default=False)
    key: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    phase_since: Mapped[datetime] = mapped_column(UTCDateTime())


class StrategyPhaseEnd(Base):
    """When a phase of a process ends (the process then moves on by itself)."""

    __tablename__ = "strategy_phase_ends"

    process_id: Mapped[int] = mapped_column(
        ForeignKey("strategy_processes.id", ondelete="CASCADE"), primary_key=True)
    phase: Mapped[str] = mapped_column(String(12), primary_key=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Proposal(Base):
    """A proposal for a section, from a member at a location; `number` counts per process.
    `status`: open, accepted, declined or merged (into `merged_into`, a number)."""

    __tablename__ = "strategy_proposals"
    __table_args__ = (Index("ix_strategy_proposals_number", "process_id", "number",
                            unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    process_id: Mapped[int] = mapped_column(
        ForeignKey("strategy_processes.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    section: Mapped[str] = mapped_column(String(40))
    location: Mapped[str] = mapped_column(String(32))
    author: Mapped[str] = mapped_column(String(255), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="open")
    reason: Mapped[str | None] = mapped_column(Text)
    merged_into: Mapped[int | None] = mapped_column()
    answered_by: Mapped[str | None] = mapped_column(String(255))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProposalVersion(Base):
    """An earlier text of an amended proposal (the history is kept)."""

    __tablename__ = "strategy_proposal_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("strategy_proposals.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProposalCopy(Base):
    """Where a proposal stands: its message in its own location room (`origin`) and the
    mirrored copies in the other covered rooms; 👍 on any of them endorses it."""

    __tablename__ = "strategy_proposal_copies"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("strategy_proposals.id", ondelete="CASCADE"), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    origin: Mapped[bool] = mapped_column(default=False)


class Endorsement(Base):
    """A member's 👍 on a proposal (on any copy), counted once; withdrawn by redacting."""

    __tablename__ = "strategy_endorsements"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("strategy_proposals.id", ondelete="CASCADE"), primary_key=True)
    mxid: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class StrategyPoll(Base):
    """A native poll (MSC3381) for one section in one covered room; `answers` maps each
    poll answer id to a proposal number (JSON)."""

    __tablename__ = "strategy_polls"
    __table_args__ = (Index("ix_strategy_polls_once", "process_id", "section", "room_id",
                            unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    process_id: Mapped[int] = mapped_column(
        ForeignKey("strategy_processes.id", ondelete="CASCADE"))
    section: Mapped[str] = mapped_column(String(40))
    room_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    answers: Mapped[str] = mapped_column(Text)
    ended_event_id: Mapped[str | None] = mapped_column(String(255))


class StrategyVote(Base):
    """A member's vote in a section: their latest answer, once across rooms."""

    __tablename__ = "strategy_votes"

    process_id: Mapped[int] = mapped_column(
        ForeignKey("strategy_processes.id", ondelete="CASCADE"), primary_key=True)
    section: Mapped[str] = mapped_column(String(40), primary_key=True)
    mxid: Mapped[str] = mapped_column(String(255), primary_key=True)
    proposal: Mapped[int] = mapped_column()  # the proposal number voted for
    location: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StrategyDue(Base):
    """Something a process sends once: a phase announced in a room, a vote reminder to a
    member, the polls ended with the results — recorded ("sending") before it is sent."""

    __tablename__ = "strategy_dues"
    __table_args__ = (Index("ix_strategy_dues_once", "process_id", "kind", "key",
                            unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    process_id: Mapped[int] = mapped_column(
        ForeignKey("strategy_processes.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))  # announce | remind | end
    key: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(8), default="sending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

class HookDelivery(Base):
    """A webhook post accepted under an `Idempotency-Key`: a retried POST posts once."""

    __tablename__ = "hook_deliveries"

    hook: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    posted: Mapped[str] = mapped_column(Text)  # the room ids it reached, space-separated


class Share(Base):
    """A `!share` relayed from a location room (kept for the per-member rate limit)."""

    __tablename__ = "shares"
    __table_args__ = (Index("ix_shares_mxid_at", "mxid", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    mxid: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class KeptEvent(Base):
    """An encrypted event the bot could not read yet, kept (still encrypted) until its key
    arrives or the sender has been told; see `bot.undecrypted`."""

    __tablename__ = "kept_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(255), index=True)
    source: Mapped[str] = mapped_column(Text)  # the encrypted event's JSON
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    keys_requested: Mapped[bool] = mapped_column(default=False)
    given_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    told: Mapped[bool] = mapped_column(default=False)  # the sender was told on giving up
