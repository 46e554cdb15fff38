"""Privacy guarantees that are measured and published, not just claimed."""
