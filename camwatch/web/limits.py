"""Limits of what the API takes, shared by the routes that check bodies and the OpenAPI document."""

from __future__ import annotations

import re

#: Notification destinations (camwatch.web.notify_api).
MAX_URL_LENGTH = 2000
MAX_ITEMS = 100
MAX_NAME_LENGTH = 200
#: A filter name holds at least one visible character (blank ones are not names).
VISIBLE = re.compile(r"[!-~]")
