"""What each process keeps per location: its configuration (bookings/availability.py, docs/locking.md §2) and
each day's lasting claims (bookings/availability_kept.py)."""

from bookings.availability import forget_kept_configurations
from bookings.availability_kept import forget as forget_kept_claims

__all__ = ["forget_kept_claims", "forget_kept_configurations"]
