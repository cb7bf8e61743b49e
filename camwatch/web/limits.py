"""Limits of what the API takes, shared by the routes that check bodies and the OpenAPI document."""

from __future__ import annotations

import re

#: Notification destinations (camwatch.web.notify_api).
MAX_URL_LENGTH = 2000
MAX_ITEMS = 100
#: The web page's address for links in messages: http(s), no white space (checked with
#: ``fullmatch``; anchored as ECMAScript for the OpenAPI document).
WEB_URL = re.compile(r"https?://\S+")
WEB_URL_PATTERN = f"^{WEB_URL.pattern}$"
#: A moment in Unix seconds as a form field ("mark all seen" up to the list the owner was shown).
SECONDS = re.compile(r"[0-9]{1,11}(\.[0-9]{1,9})?")
SECONDS_PATTERN = f"^{SECONDS.pattern}$"
MAX_SECONDS = 99_999_999_999
