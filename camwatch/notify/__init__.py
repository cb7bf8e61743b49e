"""Notifications sent by camwatch itself through Apprise: a bus sink with filters, a
per-camera rate limit and retries on its own threads (never on the frame path)."""
