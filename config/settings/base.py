"""Settings shared by every environment, read from the environment with django-environ.

Embedded default: with no environment at all the app runs on SQLite next to the code and
sends reminders without Redis. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and
Celery on Redis.
"""
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():
    env.read_env(str(env_file))

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-local-development-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "phonenumber_field",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "preservation",
]

MIDDLEWARE = [
    # First: a body over its endpoint's limit is refused by its Content-Length before anything
    # reads it (docs/security.md "Bounded work").
    "preservation.core.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "preservation.core.i18n.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Session timeouts, second factor, banner, no-store and view audit (preservation/core/middleware.py).
    "preservation.core.middleware.SessionTimeoutMiddleware",
    "preservation.core.middleware.AccessGateMiddleware",
    "preservation.core.middleware.NoStoreMiddleware",
    "preservation.core.middleware.AuditViewMiddleware",
    # django-axes wants to be last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "preservation.core.middleware.session_timing",
                "preservation.reminders.views.unread_notifications",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "preservation.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first, so a locked username is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "preservation.accounts.backends.AgencyModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # "aaaaaaaaaaaa" and the like (docs/security.md "Passwords").
    {"NAME": "preservation.accounts.passwords.RepeatedPatternValidator"},
]
# No composition rules (NIST SP 800-63B, CJIS 5.6.2.1.1): length and a common-password list only.
PASSWORD_RESET_TIMEOUT = 60 * 60  # a reset link is good for one hour

# --- Security (docs/security.md): sign-in, sessions, headers --------------------------------
# Client IP for audit and lockout: REMOTE_ADDR, unless this many reverse proxies sit in front
# of the app and append to X-Forwarded-For (then the address they saw is trusted).
PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=0)

# django-axes: 5 failures for one username lock it for 10 minutes, whatever the IP.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=10)
# Locking by IP alone would let one attacker lock out a whole agency behind one NAT address, so
# the lock is per username; the username+IP pair (implied by it) is listed as well so that a
# later change to the username rule cannot silently drop IP-bound counting.
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "preservation.core.audit.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False  # its start-up banner would clutter every manage.py command

# Sessions: 30 idle minutes, 12 hours after sign-in at most (enforced in preservation/core/middleware.py).
SESSION_IDLE_SECONDS = 30 * 60
SESSION_ABSOLUTE_SECONDS = 12 * 60 * 60
SESSION_WARNING_SECONDS = 2 * 60
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# django-csp 4 (the 4.0 format: old CSP_* settings are ignored). No inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    },
}

# Request bodies (docs/security.md "Bounded work"): the largest accepted per path prefix, checked
# by Content-Length before the body is read; Django keeps at most 1 MiB of form data in memory
# and spools larger uploads (only the letterhead logo) to a temporary file.
REQUEST_BODY_LIMITS = {
    "default": 1024 * 1024,
    "/api/": 1024 * 1024,
    # The logo form answers a too-large file with its own message (up to LOGO_MAX_BYTES).
    "/agency/letterhead/": 8 * 1024 * 1024,
    # Files added to a request's correspondence, and saved emails (docs/correspondence.md); the
    # forms answer a file above its own limit with their message.
    "/correspondence/": max(env.int("MAIL_MAX_ATTACHMENT_BYTES", default=20 * 1024 * 1024),
                            env.int("MAIL_MAX_MESSAGE_BYTES", default=25 * 1024 * 1024)) + 64 * 1024,
    "/mail/": env.int("MAIL_MAX_MESSAGE_BYTES", default=25 * 1024 * 1024) + 64 * 1024,
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# TOTP issuer shown in authenticator apps; invitation links last this long.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Preserve")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
INVITATION_MAX_AGE_SECONDS = 7 * 24 * 60 * 60
# Audit records are kept for good (at least the year CJIS asks): nothing in the application
# deletes them, and on PostgreSQL a trigger refuses UPDATE and DELETE (preservation/models/audit.py).
# Each audit record carries an HMAC keyed with a secret the database does not hold, and the
# newest record's position and hash are written, signed, to a file outside the database every
# minute (docs/security.md "Audit log integrity"). Without AUDIT_HMAC_KEY the key is derived from
# DJANGO_SECRET_KEY; set it on its own so that rotating the secret key keeps old records checkable.
AUDIT_HMAC_KEY = env("AUDIT_HMAC_KEY", default="")
# The role the application connects as when a separate role owns the tables: manage.py
# audit_grants (run as the owner after migrate) limits it to INSERT and SELECT on the audit log.
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE", default="")
AUDIT_CHECKPOINT_PATH = env("AUDIT_CHECKPOINT_PATH", default=str(BASE_DIR / "audit-checkpoints.jsonl"))

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("de", _("German")),
    ("fr", _("French")),
    ("es", _("Spanish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
# Dates in each language's own order and words; English overridden in config/formats/en.
FORMAT_MODULE_PATH = ["config.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Bootstrap comes from the npm registry at setup (scripts/setup.sh), never from a CDN.
if (BASE_DIR / "node_modules" / "bootstrap" / "dist").is_dir():
    STATICFILES_DIRS.append(("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

PHONENUMBER_DEFAULT_REGION = env("PHONENUMBER_DEFAULT_REGION", default="US")

EMAIL_BACKEND = env(
    "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Preserve <preserve@localhost>")
# SMTP when EMAIL_BACKEND is django.core.mail.backends.smtp.EmailBackend.
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# Links in emails and calendar feeds point here.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# Whom to tell about a vulnerability: /.well-known/security.txt (a mailto: or https: URI).
SECURITY_CONTACT = env("SECURITY_CONTACT", default="mailto:security@localhost")

# Celery on Redis when REDIS_URL is set; without it reminders run in-process (see README).
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True

# Domain settings (docs/deadlines.md): every threshold and list is a setting.
PRESERVE = {
    # The address of Blink's online form for law-enforcement preservation requests, linked from
    # the sending pages (docs/workday.md §7); empty: the pages say to ask the administrator.
    "BLINK_FORM_URL": env("BLINK_FORM_URL", default=""),
    # Alarms in each calendar event: Outlook honours only the first, so one by default.
    "CALENDAR_ALARMS": env.int("CALENDAR_ALARMS", default=1),
    "URGENCY_CRITICAL_DAYS": 3,
    "URGENCY_HIGH_DAYS": 7,
    "URGENCY_ELEVATED_DAYS": 14,
    # How many days before the expiry the extension should be sent. The preservation periods
    # themselves (90 + 90 days under § 2703(f), 60 + 30 under the EPOC-PR...) are the law's, kept
    # with their sources in the catalogue (preservation/rules/catalogue.py, docs/providers.md).
    "EXTENSION_LEAD_DAYS": 7,
    "REMINDER_HOUR": 8,
    # Reminders (docs/deadlines.md "Reminders"; README "Reminders").
    "REMINDER_LEAD_DAYS": [30, 14, 7, 3, 1],
    "ACK_MISSING_DAYS": 3,
    # The same for the extension request: days after sending it with no receipt recorded.
    "EXTENSION_ACK_MISSING_DAYS": 3,
    "ESCALATION_DAYS": 7,
    "DIGEST_DAYS": 14,
    # A row left "sending" this long (its worker died) is claimed again; longer than any task
    # may run (CELERY_TASK_TIME_LIMIT), so a live worker is never overtaken.
    "REMINDER_STUCK_SECONDS": 600,
    "REMINDER_LATE_HOURS": 24,
    "REMINDER_MAX_ATTEMPTS": 6,
    # ... and a reminder's email is given up only once this long has passed since its moment.
    "REMINDER_RETRY_HOURS": 24,
    "REMINDER_BATCH": 50,
}

# PDF documents (preservation/documents/pdf.py): limits of the child process that runs WeasyPrint.
PRESERVE_PDF = {
    "WALL_SECONDS": env.int("PDF_WALL_SECONDS", default=60),
    "CPU_SECONDS": env.int("PDF_CPU_SECONDS", default=30),
    "MEMORY_MB": env.int("PDF_MEMORY_MB", default=1024),
    "DATA_URL_MAX_BYTES": 256 * 1024,
    "LOGO_MAX_BYTES": 1024 * 1024,
    # Bounded work (docs/security.md): pending renders per user and per agency (one per
    # document); how many run at once is PRESERVE_JOBS["EMBEDDED_WORKERS"] without Redis and
    # the Celery worker concurrency with it.
    "MAX_PENDING_PER_USER": 3,
    "MAX_PENDING_PER_AGENCY": 10,
}

# Correspondence (docs/correspondence.md): limits on what strangers' mail may make us do.
PRESERVE_MAIL = {
    "MAX_MESSAGE_BYTES": env.int("MAIL_MAX_MESSAGE_BYTES", default=25 * 1024 * 1024),
    "MAX_ATTACHMENTS": 50,
    "MAX_PARTS": 200,
    "MAX_DEPTH": 5,
    "MAX_HEADER_CHARS": 64 * 1024,
    "MAX_TEXT_CHARS": 200_000,
    "MAX_ARCHIVE_ENTRIES": 1000,
    "MAX_ARCHIVE_BYTES": 200 * 1024 * 1024,
    "MAX_ARCHIVE_RATIO": 100,
    # Attachments to a request's correspondence log (uploaded by a user).
    "MAX_ATTACHMENT_BYTES": env.int("MAIL_MAX_ATTACHMENT_BYTES", default=20 * 1024 * 1024),
    # authserv-ids whose Authentication-Results header is read (the agency's own mail servers);
    # empty: the topmost header, which the last receiving server added.
    "AUTHSERV_IDS": env.list("MAIL_AUTHSERV_IDS", default=[]),
    # The domain of the Message-IDs of letters sent by email.
    "MESSAGE_ID_DOMAIN": env("MAIL_MESSAGE_ID_DOMAIN", default="preserve.invalid"),
}

# Background jobs without Redis (preservation/jobs/queue.py): deferred jobs such as PDF renders
# run on this many threads of the web process; more wait their turn.
PRESERVE_JOBS = {"EMBEDDED_WORKERS": 2}

# REST API (preservation/api). Tokens only: a browser session never reaches the API, so a
# stolen cookie or a password-only session cannot drive it.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["preservation.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [
        "preservation.api.throttling.TokenRateThrottle",
        "preservation.api.throttling.UnauthenticatedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_token": env("API_TOKEN_THROTTLE_RATE", default="600/minute"),
        "api_unauthenticated": env("API_UNAUTHENTICATED_THROTTLE_RATE", default="60/minute"),
        "api_failed_token": env("API_FAILED_TOKEN_THROTTLE_RATE", default="20/minute"),
    },
    "DEFAULT_PARSER_CLASSES": ["preservation.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "preservation.api.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "preservation.api.errors.exception_handler",
    # The same proxy count as everywhere else (the throttles use audit.client_ip in any case).
    "NUM_PROXIES": PROXY_COUNT,
    # No OPTIONS metadata: every method on another agency's object answers like a missing one.
    "DEFAULT_METADATA_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Preserve API",
    "DESCRIPTION": _(
        "Create and track Blink data-preservation requests from a case-management system. "
        "Authenticate with a personal API token (created on the API tokens page) in the header "
        "`Authorization: Bearer <token>`. Errors share one format: `fields` holds the errors "
        "of each field, each with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1: JSON Schema proper, so "null" is a type of its own and nullability is exact.
    "OAS_VERSION": "3.1.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "preservation.api.errors.document_error_responses",
        "preservation.api.errors.blank_strings_any_of",
        "preservation.api.errors.require_response_fields",
        "preservation.api.errors.drop_unused_components",
        "preservation.api.errors.add_servers",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RequestStateEnum": "preservation.models.core.RequestState",
        "LegalProcessTypeEnum": "preservation.models.core.LegalProcessType",
        "UrgencyEnum": "preservation.api.serializers.URGENCY_CODES",
        "ModelEnum": "preservation.rules.serials.DEVICE_MODELS",
        # Three "kind" fields: the documents' keeps the name it always had.
        "KindEnum": "preservation.models.documents.DocumentKind",
        "CorrespondenceKindEnum": "preservation.models.correspondence.CorrespondenceKind",
        "NewCorrespondenceKindEnum": "preservation.correspondence.api.NEW_ENTRY_KINDS",
        "IdentifierKindEnum": "preservation.rules.catalogue.IDENTIFIER_TYPES",
        "LegalBasisEnum": "preservation.models.core.LEGAL_BASIS_CHOICES",
        "ClockChangeOffsetEnum": "preservation.rules.deadlines.CLOCK_CHANGE_OFFSETS",
    },
}
# Throttle counters must be shared by every worker process: Redis when there is one.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api_throttle": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api-throttle"}
    ),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# Which settings module is in force; seed_demo refuses to run in production.
ENVIRONMENT = "local"
