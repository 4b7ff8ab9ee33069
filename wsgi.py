"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from dsar import create_app

app = create_app()
