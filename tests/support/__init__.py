"""Helpers shared by the test modules (DESIGN.md §8): test modules import from here, never from each other."""
