"""vidonate: open, privacy-first video donation."""
