"""Production settings: everything comes from the environment."""
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import PROXY_COUNT, SECRET_KEY, env

ENVIRONMENT = "production"
DEBUG = False
if DEBUG or env.bool("DJANGO_DEBUG", default=False):
    raise ImproperlyConfigured("DEBUG must be off under production settings.")
if SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY to a random value of at least 50 characters."
    )

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# X-Forwarded-Proto is trusted only when a reverse proxy is declared (DJANGO_PROXY_COUNT, the
# same setting that lets audit.client_ip trust X-Forwarded-For): the proxy sets the header and
# overwrites what a client sent. Without one, any client could send "X-Forwarded-Proto: https"
# over plain HTTP and Django would take the connection for HTTPS: SECURE_SSL_REDIRECT would not
# redirect it and request.is_secure() would lie to every check built on it. A deployment behind
# a TLS-terminating proxy that forgets the count gets a redirect loop: a loud failure, not a
# silent one.
if PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# --- Deployment (README "Deploying with compose") ----------------------------------------------
if "*" in ALLOWED_HOSTS:  # noqa: F405
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name the site's hosts, not '*'.")
# The https:// origins users reach the site by, when a reverse proxy terminates TLS.
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Load balancers and orchestrators probe over plain HTTP inside the network (preservation/core/health.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Persistent connections, checked before reuse; a database that does not answer fails a request
# (and /readyz) within seconds instead of hanging a worker.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(  # noqa: F405
        "DATABASE_CONNECT_TIMEOUT", default=5
    )

# --- Security: cookies bound to this exact host over HTTPS ----------------------------
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
