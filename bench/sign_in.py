"""Sign-in time for a known and an unknown username, with the production argon2 cost.

A wrong password is sent ``--rounds`` times for a real account and for a name no account
has, alternating, through ``accounts.users.authenticate`` against a fresh SQLite database.
Before the fix an unknown name answered in ~13 ms and a real one in ~449 ms: the time told
whether an account exists. Now both verify one argon2 hash of the same cost.

Progress goes to stderr; stdout gets exactly one line::

    sign_in: known p50 X ms, unknown p50 Y ms, ratio R (target 0.8-1.25), N rounds

Run it as ``.venv/bin/python bench/sign_in.py [--rounds 20]``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from vidonate.accounts.users import authenticate, create_user
from vidonate.db.engine import make_engine, make_sessionmaker, transaction
from vidonate.db.migrate import upgrade
from vidonate.errors import NotAuthenticated


def _time_refusal(sessions: sessionmaker[Session], username: str) -> float:
    with transaction(sessions) as session:
        start = time.perf_counter()
        with contextlib.suppress(NotAuthenticated):
            authenticate(session, username, "not-the-password")
        return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as session:
            create_user(session, "carol", "carol-password")
        _time_refusal(sessions, "nobody-here")  # the stand-in hash is made once, untimed
        known, unknown = [], []
        for n in range(args.rounds):
            known.append(_time_refusal(sessions, "carol"))
            unknown.append(_time_refusal(sessions, "nobody-here"))
            print(f"round {n + 1}: known {known[-1]:.1f} ms, unknown {unknown[-1]:.1f} ms",
                  file=sys.stderr)  # fmt: skip
        engine.dispose()
    k, u = statistics.median(known), statistics.median(unknown)
    print(
        f"sign_in: known p50 {k:.1f} ms, unknown p50 {u:.1f} ms, ratio {u / k:.2f} "
        f"(target 0.8-1.25), {args.rounds} rounds"
    )


if __name__ == "__main__":
    main()
