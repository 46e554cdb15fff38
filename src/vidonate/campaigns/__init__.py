"""Campaigns, their categories and their versioned consent texts."""
