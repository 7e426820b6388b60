"""The tables of the foundation: members, room settings, the sync position, handled events,
and the bot's own Matrix session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, MetaData, String, Text
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


class RoomSetting(Base):
    """Per-room language and timezone (the network's rooms get theirs from provisioning)."""

    __tablename__ = "room_settings"

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))


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
