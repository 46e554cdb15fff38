"""The append-only, double-entry rewards ledger and the leaderboard."""
