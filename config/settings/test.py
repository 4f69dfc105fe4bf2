"""Settings for the test suite.

The suite runs on the real PostgreSQL at 127.0.0.1:5432 when it answers (or on DATABASE_URL
when set), otherwise on SQLite with the PostgreSQL-only tests skipped. Under CI=true a missing
PostgreSQL or Redis is an error, never a skip.
"""
import os
import socket

from .base import *  # noqa: F401,F403
from .base import BASE_DIR, env


def service_answers(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


IN_CI = env.bool("CI", default=False)
LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/preserve"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/15"

if "DATABASE_URL" not in os.environ:
    if service_answers("127.0.0.1", 5432):
        DATABASES = {"default": env.db_url_config(LOCAL_POSTGRES_URL)}
    elif IN_CI:
        raise RuntimeError("CI=true but PostgreSQL does not answer on 127.0.0.1:5432.")
    else:
        DATABASES = {"default": env.db_url_config(f"sqlite:///{BASE_DIR / 'test.sqlite3'}")}
DATABASES["default"]["TEST"] = {"NAME": None}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A test database is thrown away: a commit need not wait for its WAL to reach the disk.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"

# Tests that need Redis (and a Celery worker) read this; empty means "skip, Redis is absent".
TEST_REDIS_URL = env("TEST_REDIS_URL", default=LOCAL_REDIS_URL)
if not service_answers("127.0.0.1", 6379) and "TEST_REDIS_URL" not in os.environ:
    if IN_CI:
        raise RuntimeError("CI=true but Redis does not answer on 127.0.0.1:6379.")
    TEST_REDIS_URL = ""

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "test-media"
CELERY_TASK_ALWAYS_EAGER = True
ENVIRONMENT = "test"

# API throttle counters in memory: the tests clear them, which must never flush a real Redis.
CACHES = {**CACHES, "api_throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",  # noqa: F405
                                     "LOCATION": "api-throttle"}}

# The audit MAC key of the suite (a fixed test value; production reads AUDIT_HMAC_KEY or derives
# it from the secret key). Checkpoints go to a per-test file (tests set AUDIT_CHECKPOINT_PATH).
AUDIT_HMAC_KEY = "test-audit-hmac-key"
AUDIT_CHECKPOINT_PATH = str(BASE_DIR / "test-media" / "audit-checkpoints.jsonl")
# Static files straight from the app's folders (finders), as in development: the suite never runs
# collectstatic, and WhiteNoise would otherwise warn about the missing STATIC_ROOT at every start.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
