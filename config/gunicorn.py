"""gunicorn settings, read from the environment (README "Environment variables").

    gunicorn --config config/gunicorn.py config.wsgi

Command-line options override these (bench/loadtest.py binds to 127.0.0.1 that way).
"""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Longer than PDF_WALL_SECONDS: a PDF renders inside a request (in a bounded child process).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "90"))
graceful_timeout = 30
keepalive = 5
# Recycle each worker now and then so a slow leak never takes a container down.
max_requests = 2000
max_requests_jitter = 200
# No control socket (gunicornc): the orchestrator starts, stops and scales containers, and the
# image's user has no home directory to put the socket in.
control_socket_disable = True
# Heartbeat files in memory: the container's filesystem is read-only.
worker_tmp_dir = "/dev/shm"
# "-" is standard output; an empty value turns the access log off.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Path only, no query string: nothing personal ever reaches the access log; secrets in paths
# (feed, invitation and reset tokens) are replaced by "[secret]" (config/gunicorn_logging.py).
logger_class = "config.gunicorn_logging.RedactingLogger"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
# Which peers may set X-Forwarded-Proto/-For for gunicorn (comma-separated addresses).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
