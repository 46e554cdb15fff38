"""The web layer: a JSON API (``web.api``) and server-rendered pages (``web.pages``)."""
