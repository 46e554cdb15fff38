"""Donations (clips): creation from upload metadata and the status machine."""
