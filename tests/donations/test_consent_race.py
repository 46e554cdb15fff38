"""A donor's first uploads, all at once: the consent acceptance is recorded once, and no
upload fails on it (on PostgreSQL 4 of 100 used to answer 500, a unique violation)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from vidonate.db.engine import transaction
from vidonate.db.models import ConsentAcceptance, Donation, User
from vidonate.donations.service import create_donation, validate_request
from world import World

UPLOADS = 12  # within the connection pool (5 + 10 overflow)


def test_concurrent_first_uploads_of_one_donor_all_succeed_and_consent_is_kept_once(
    world: World,
) -> None:
    start = threading.Barrier(UPLOADS)
    errors: list[BaseException] = []

    def first_upload() -> None:
        start.wait(timeout=30)  # all at once
        try:
            with transaction(world.rt.sessions) as s:
                alice = s.get(User, world.alice.id)
                assert alice is not None
                request = validate_request(s, alice, world.metadata())
                create_donation(s, alice, request, size=1000)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_upload) for _ in range(UPLOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with transaction(world.rt.sessions) as s:
        acceptances = s.scalar(select(func.count()).select_from(ConsentAcceptance))
        donations = s.scalar(select(func.count()).select_from(Donation))
    assert (acceptances, donations) == (1, UPLOADS)
