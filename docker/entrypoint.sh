#!/bin/sh
# Container entrypoint. The first argument is the role this container plays:
#   web       gunicorn serving the app (config/gunicorn.py reads its settings from the environment)
#   worker    a Celery worker (as many as you like, on any host)
#   beat      Celery beat: run EXACTLY ONE in the whole deployment
#   migrate   deployment checks, then database migrations, then exit (once per upgrade, first)
#   manage    any manage.py command, e.g. `manage createsuperuser`
# Anything else is executed as given, so `docker compose run web sh` still works.
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    exec gunicorn --config config/gunicorn.py config.wsgi "$@" ;;
  worker)
    exec celery --app config.celery worker --loglevel "${LOG_LEVEL:-INFO}" \
      --concurrency "${CELERY_WORKER_CONCURRENCY:-2}" "$@" ;;
  beat)
    # The schedule file only remembers last-run times; /tmp is writable and losing it is harmless
    # because every periodic job re-derives what is due from the database.
    exec celery --app config.celery beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule /tmp/celerybeat-schedule "$@" ;;
  migrate)
    # The deployment checks first: a misconfiguration stops the rollout before the schema changes.
    python manage.py check --deploy
    exec python manage.py migrate --noinput "$@" ;;
  manage)
    exec python manage.py "$@" ;;
  *)
    exec "$role" "$@" ;;
esac
