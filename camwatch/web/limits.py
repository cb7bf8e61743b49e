"""Limits of what the API takes, shared by the routes that check bodies and the OpenAPI document."""

from __future__ import annotations

#: Notification destinations (camwatch.web.notify_api).
MAX_URL_LENGTH = 2000
MAX_ITEMS = 100
