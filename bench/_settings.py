"""Production settings plus one bench-only URL (bench/_urls.py): the load test's trivial
login-required page. Used by bench/loadtest.py only; never by the application."""
from config.settings.production import *  # noqa: F401,F403

ROOT_URLCONF = "_urls"
