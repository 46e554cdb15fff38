"""Money into and out of a donor's balance for tests, as accepted clips would put it there."""

from __future__ import annotations

from vidonate.db.engine import transaction
from vidonate.db.models import User
from vidonate.rewards import ledger
from vidonate.runtime import Runtime


def give(rt: Runtime, user_id: int, cents: int) -> None:
    """Credit a donor's balance from outside (the funding account)."""
    with transaction(rt.sessions) as s:
        funding = ledger._account(s, ledger.FUNDING)
        ledger.post(s, "grant", [(funding, -cents), (ledger.donor_account(s, user_id), cents)])


def balance(rt: Runtime, user_id: int) -> int:
    with transaction(rt.sessions) as s:
        user = s.get(User, user_id)
        assert user is not None
        return ledger.donor_balance(s, user)
