"""The configuration each process keeps per location (bookings/availability.py, docs/locking.md §2)."""

from bookings import availability


def forget_kept_configurations() -> None:
    """As a new process: the next read of every location's configuration costs its three queries again, so a
    test that compares query counts compares like with like."""
    availability._CONFIGS.clear()
