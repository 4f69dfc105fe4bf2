"""Settings for a developer's machine and the demo: DEBUG on, SQLite by default."""
from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
