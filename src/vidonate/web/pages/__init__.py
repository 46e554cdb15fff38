"""Server-rendered pages: sign in, donate, my donations, review, leaderboard."""
