"""Public booking pages: the flow, managing a booking, and the pages around them."""
