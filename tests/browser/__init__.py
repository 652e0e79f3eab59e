"""Real-browser tests (headless chromium against a live gunicorn)."""
