"""The configuration each process keeps per location (bookings/availability.py, docs/locking.md §2)."""

from bookings.availability import forget_kept_configurations

__all__ = ["forget_kept_configurations"]
