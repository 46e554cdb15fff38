"""Row counts of UPDATE and DELETE statements, typed.

``Session.execute`` is typed as returning a plain ``Result``; for a DML statement it is a
``CursorResult``, the only kind that carries ``rowcount``.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable


def rows_matched(session: Session, statement: Executable) -> int:
    """Execute an UPDATE or DELETE and return how many rows its WHERE clause matched."""
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount
