"""The local web UI and REST API (Flask app served by waitress)."""

from camwatch.web.app import create_app
from camwatch.web.context import WebContext
from camwatch.web.server import WebServer

__all__ = ["WebContext", "WebServer", "create_app"]
