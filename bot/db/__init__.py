"""Persistence: SQLAlchemy 2 async models, the Database owner object, Alembic migrations."""

from bot.db.database import Database, after_commit
from bot.db.models import Base

__all__ = ["Base", "Database", "after_commit"]
