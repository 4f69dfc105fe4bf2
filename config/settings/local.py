"""Settings for a developer's machine and the demo: DEBUG on, SQLite by default."""
from .base import *  # noqa: F401,F403
from .base import BASE_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# The demo keeps its terminal readable (the logins, the server): reminder and digest emails go
# to files in sent-mail/ unless EMAIL_BACKEND says otherwise.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = BASE_DIR / "sent-mail"
