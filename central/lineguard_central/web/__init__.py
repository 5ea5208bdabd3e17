"""The web console: server-rendered pages (FastAPI + Jinja2), inline SVG charts, a little polling JavaScript."""
