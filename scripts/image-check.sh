#!/usr/bin/env bash
# Builds the Docker image without a Docker engine and runs it the way compose.yaml does.
#
#   scripts/image-check.sh            (run by .ci/run after `make test`)
#
# 1. Base images: the upstream ones (Dockerfile ARGs) when buildah can pull them, otherwise
#    a minimal Debian bookworm made here with debootstrap (slimmed as Debian's own images are),
#    plus Debian's python3 for the Python stages and nodejs and npm for the asset stage.
# 2. buildah builds the Dockerfile, handing it this machine's CA bundle as the optional
#    "ca-bundle" secret (downloads may go through a TLS-inspecting proxy), and the image is
#    checked not to contain that bundle.
# 3. migrate, web, one worker and one beat run from the image against the local PostgreSQL
#    (a role of its own that owns a database of its own, not a superuser) and Redis, with a
#    local SMTP sink: /readyz and the login page answer 200, a due reminder created in the web
#    container (`manage shell`) reaches the sink through beat and the worker, every process runs
#    as a non-root user who cannot write to the code.
#
# Any failed check exits non-zero. Without buildah or debootstrap, or without root, it installs
# them under CI=true and otherwise skips with the reason.
#
# Caches, on this machine only and never required: base images are kept in buildah's store
# under a name holding a hash of their recipe (and the ISO week, so a base is at most a week
# behind Debian's updates), .deb files under $IMAGE_CHECK_CACHE, and buildah keeps each
# layer of the build (--layers).
#
# Settings (environment): PGHOST, PGPORT (127.0.0.1:5432), IMAGE_CHECK_PG_SUPERUSER (postgres,
# only to create and drop the check's role and database), IMAGE_CHECK_REDIS_URL (a Redis
# database it may flush), IMAGE_CHECK_CA_BUNDLE, IMAGE_CHECK_DEBIAN_MIRROR, IMAGE_CHECK_CACHE,
# IMAGE_CHECK_PYTHON (a Python with aiosmtpd; .venv/bin/python), IMAGE_CHECK_KEEP=1 (keep the
# containers and logs for a look afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432}
PG_ADMIN=${IMAGE_CHECK_PG_SUPERUSER:-postgres}
REDIS_URL=${IMAGE_CHECK_REDIS_URL:-redis://127.0.0.1:6379/15}
CA_BUNDLE=${IMAGE_CHECK_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
MIRROR=${IMAGE_CHECK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${IMAGE_CHECK_CACHE:-/var/cache/preserve-image-check}
IMAGE=localhost/preserve:image-check
DB_NAME=preserve_image_check
DB_ROLE=preserve_image_check
PY=${IMAGE_CHECK_PYTHON:-.venv/bin/python}
APP_UID=10001
WORK=$(mktemp -d /tmp/preserve-image-check.XXXXXX)
CONTAINERS=()
ROLE_CONTAINERS=()
ROLE_PIDS=()
PIDS=()

say() { printf '[image-check] %s\n' "$*"; }
# fail MESSAGE [LOG...]: the last lines of each named log in $WORK, then exit 1.
fail() {
  printf '[image-check] FAILED: %s\n' "$1" >&2; shift
  for log in "$@"; do
    echo "----- last lines of $log.log" >&2; tail -n 40 "$WORK/$log.log" >&2 || true
  done
  exit 1
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${IMAGE_CHECK_KEEP:-0}" != 1 ]; then
    for ctr in "${CONTAINERS[@]}"; do buildah rm "$ctr" >/dev/null 2>&1 || true; done
    if [ "$status" = 0 ]; then rm -rf "$WORK"; fi
  fi
  [ "$status" = 0 ] || say "logs kept in $WORK"
  exit "$status"
}
trap cleanup EXIT

# --- Tools -------------------------------------------------------------------------------------
ensure_tools() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v curl >/dev/null || missing+=(curl)
  command -v psql >/dev/null || missing+=(postgresql-client)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v ps >/dev/null || missing+=(procps)
  if [ "$(id -u)" != 0 ]; then
    # Rootless buildah needs subordinate ids set up for this user; CI runs as root.
    [ "${CI:-}" = true ] && fail "CI must run as root to build with buildah"
    say "SKIPPED: not root (buildah here builds as root)"; exit 0
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "${CI:-}" != true ]; then
      say "SKIPPED: missing ${missing[*]} (apt-get install ${missing[*]}; CI installs them)"; exit 0
    fi
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  [ -x "$PY" ] || fail "$PY is missing: run scripts/setup.sh --test first (make test does)"
  "$PY" -c "import aiosmtpd" 2>/dev/null || fail "aiosmtpd is missing from .venv (requirements-test.txt)"
}

# --- Base images -------------------------------------------------------------------------------
# The upstream base when buildah can pull it, else Debian bookworm made with debootstrap plus
# PACKAGES. Prints the image reference to build FROM.
base_image() {
  local upstream=$1 name=$2; shift 2
  if buildah pull --quiet --retry 0 --policy missing "docker.io/library/$upstream" >/dev/null 2>&1; then
    echo "docker.io/library/$upstream"; return
  fi
  local debian key ref ctr
  debian=$(debian_base)
  key=$(printf '%s %s' "$debian" "$*" | sha256sum | cut -c1-16)
  ref="localhost/preserve-base-$name:$key"
  if ! buildah inspect --type image "$ref" >/dev/null 2>&1; then
    say "making $ref: $debian with $*" >&2
    ctr=$(buildah from --pull=never "$debian")
    buildah run --isolation chroot "$ctr" -- sh -c 'apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
      && apt-get clean && rm -rf /var/lib/apt/lists/*' sh "$@" >"$WORK/base-$name.log" 2>&1 \
      || { buildah rm "$ctr" >/dev/null; tail -n 20 "$WORK/base-$name.log" >&2; fail "could not install $* into the base"; }
    buildah commit --quiet --rm "$ctr" "$ref" >/dev/null
    drop_older "$ref"
  fi
  echo "$ref"
}

# A new base replaces the older ones of its name in buildah's store, and the build layers made
# on them (untagged images) go too: no later build can use them.
drop_older() {
  local keep=$1 old
  for old in $(buildah images --format '{{.Name}}:{{.Tag}}' | grep "^${keep%%:*}:" | grep -vx "$keep"); do
    buildah rmi "$old" >/dev/null 2>&1 || true
  done
  buildah rmi --prune >/dev/null 2>&1 || true
}

# A minimal Debian bookworm set up as Debian's own images: the release, its updates, security.
debian_base() {
  local key ref root="$WORK/rootfs" started ctr mnt security=${MIRROR%/debian}/debian-security
  # Called by both bases at once, each in a subshell: one makes it, the other waits for it.
  local lock
  exec {lock}>"$WORK/debian-base.lock"
  flock "$lock"
  key=$(printf '%s %s %s' "$MIRROR" "$(declare -f debian_base)" "$(date -u +%G-W%V)" | sha256sum | cut -c1-16)
  ref="localhost/preserve-base-debian:$key"
  if buildah inspect --type image "$ref" >/dev/null 2>&1; then echo "$ref"; return; fi
  # Everything below deletes only inside this fresh tree (an empty prefix would be the host's /).
  case "$root" in /tmp/preserve-image-check.*/rootfs) ;; *) fail "unexpected rootfs path $root" ;; esac
  started=$(date +%s%N)
  say "making $ref with debootstrap (kept for the week)" >&2
  mkdir -p "$CACHE/debs"
  debootstrap --variant=minbase --cache-dir="$CACHE/debs" bookworm "$root" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed"; }
  rm -f "$root/etc/apt/sources.list"
  # As Debian's slim images: no documentation, manual pages or message catalogues, now or later.
  printf '%s\n' "path-exclude /usr/share/doc/*" "path-include /usr/share/doc/*/copyright" \
    "path-exclude /usr/share/man/*" "path-exclude /usr/share/info/*" "path-exclude /usr/share/groff/*" \
    "path-exclude /usr/share/lintian/*" "path-exclude /usr/share/locale/*" \
    >"$root/etc/dpkg/dpkg.cfg.d/slim"
  # As Debian's images too: a build that dies is thrown away, so dpkg need not sync every file.
  echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/unsafe-io"
  find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  rm -rf "${root:?}"/usr/share/man/* "${root:?}"/usr/share/info/* "${root:?}"/usr/share/locale/*
  printf '%s\n' "Types: deb" "URIs: $MIRROR" "Suites: bookworm bookworm-updates" "Components: main" \
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" "" \
    "Types: deb" "URIs: $security" "Suites: bookworm-security" "Components: main" \
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" \
    >"$root/etc/apt/sources.list.d/debian.sources"
  rm -rf "${root:?}"/var/lib/apt/lists/* "${root:?}"/var/cache/apt/archives/*.deb "${root:?}"/var/log/*
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  tar -C "$root" -cf - . | tar -C "$mnt" -xpf -
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd /bin/bash "$ctr"
  buildah commit --quiet --rm "$ctr" "$ref" >/dev/null
  drop_older "$ref"
  rm -rf "${root:?}"
  say "base $ref made in $(( $(ms_since "$started") / 1000 )) s" >&2
  echo "$ref"
}

# --- Build -------------------------------------------------------------------------------------
build_image() {
  local python_base node_base started secret=()
  # Both bases at once: each waits for the one Debian base they share (debian_base's lock).
  base_image python:3.11-slim-bookworm python python3 python3-venv python-is-python3 ca-certificates \
    >"$WORK/python.ref" & local python_pid=$!
  base_image node:22-bookworm-slim node nodejs npm ca-certificates >"$WORK/node.ref" & local node_pid=$!
  wait "$python_pid" || fail "no Python base image"
  wait "$node_pid" || fail "no Node.js base image"
  python_base=$(cat "$WORK/python.ref"); node_base=$(cat "$WORK/node.ref")
  say "bases ready after $(( $(ms_since "$STARTED") / 1000 )) s"
  [ -s "$CA_BUNDLE" ] && secret=(--secret "id=ca-bundle,src=$CA_BUNDLE")
  started=$(date +%s%N)
  say "building $IMAGE from $python_base and $node_base"
  buildah build --isolation chroot --layers --pull=never --format docker --jobs 2 "${secret[@]}" \
    --build-arg "PYTHON_IMAGE=$python_base" --build-arg "NODE_IMAGE=$node_base" \
    --tag "$IMAGE" . >"$WORK/build.log" 2>&1 || fail "buildah build failed" build
  BUILD_SECONDS=$(( $(ms_since "$started") / 1000 ))
  IMAGE_SIZE=$(buildah images --format '{{.Size}}' "$IMAGE")
  say "built in ${BUILD_SECONDS} s"
}

# The extra CA bundle was handed to the build; no file in the image may hold it.
check_no_ca_bundle_in_image() {
  [ -s "$CA_BUNDLE" ] || { say "no CA bundle at $CA_BUNDLE: nothing to look for"; return; }
  local ctr mnt size digest found
  ctr=$(buildah from --pull=never "$IMAGE"); CONTAINERS+=("$ctr")
  mnt=$(buildah mount "$ctr")
  size=$(stat -c %s "$CA_BUNDLE"); digest=$(sha256sum <"$CA_BUNDLE" | cut -d' ' -f1)
  found=$(find "$mnt" -xdev -type f -size "${size}c" -exec sha256sum {} + | awk -v d="$digest" '$1 == d {print $2}')
  [ -z "$found" ] || fail "the CA bundle handed to the build is in the image: $found"
  [ ! -e "$mnt/run/secrets/ca-bundle" ] || fail "/run/secrets/ca-bundle is in the image"
  if grep -rlsF -e "$CA_BUNDLE" -e /run/secrets/ca-bundle "$mnt/etc" "$mnt/root" "$mnt/opt/venv/pip.conf" 2>/dev/null; then
    fail "a configuration file in the image points at the CA bundle"
  fi
  buildah umount "$ctr" >/dev/null
  say "the CA bundle handed to the build is not in the image"
}

# --- Run ---------------------------------------------------------------------------------------
prepare_services() {
  # The app's role and database, made by the file compose hands to the postgres container.
  psql -U "$PG_ADMIN" -d postgres -qAt -v ON_ERROR_STOP=1 >/dev/null \
    -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "DROP ROLE IF EXISTS $DB_ROLE"
  POSTGRES_USER=$PG_ADMIN PRESERVE_DB_NAME=$DB_NAME PRESERVE_DB_USER=$DB_ROLE \
    PRESERVE_DB_PASSWORD=image-check sh docker/postgres-init.sh || fail "docker/postgres-init.sh failed"
  DATABASE_URL="postgres://$DB_ROLE:image-check@$PGHOST:$PGPORT/$DB_NAME"
  redis-cli -u "$REDIS_URL" FLUSHDB >/dev/null
  SMTP_PORT=$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  mkdir -p "$WORK/mail/cur" "$WORK/mail/new" "$WORK/mail/tmp"  # a Maildir
  "$PY" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$WORK/mail" \
    >"$WORK/smtp.log" 2>&1 &
  PIDS+=($!)
  WEB_PORT=$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
}

app_env() {
  local -a env=(
    DJANGO_SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')"
    DJANGO_ALLOWED_HOSTS=localhost
    DJANGO_PROXY_COUNT=1
    DATABASE_URL="$DATABASE_URL"
    REDIS_URL="$REDIS_URL"
    SITE_URL=https://localhost
    EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend
    EMAIL_HOST=127.0.0.1
    EMAIL_PORT="$SMTP_PORT"
    DEFAULT_FROM_EMAIL=preserve@image-check.example
    PORT="$WEB_PORT"
    GUNICORN_WORKERS=2
    CELERY_WORKER_CONCURRENCY=1
    GUNICORN_FORWARDED_ALLOW_IPS=127.0.0.1
  )
  APP_ENV=()
  for pair in "${env[@]}"; do APP_ENV+=(--env "$pair"); done
}

# One container per role, as compose starts them; the role's process runs in the foreground of
# a background `buildah run`.
start_role() {
  local role=$1 ctr
  buildah rm "preserve-image-check-$role" >/dev/null 2>&1 || true  # left by a killed run
  ctr=$(buildah from --pull=never --name "preserve-image-check-$role" "$IMAGE"); CONTAINERS+=("$ctr")
  ROLE_CONTAINERS+=("$ctr")
  buildah run --isolation chroot "${APP_ENV[@]}" "$ctr" -- /app/docker/entrypoint.sh "$role" \
    >"$WORK/$role.log" 2>&1 &
  PIDS+=($!)
  ROLE_PIDS+=($!)
}

in_container() {
  local ctr=$1; shift
  buildah run --isolation chroot "${APP_ENV[@]}" "$ctr" -- "$@"
}

http_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Host: localhost" \
    -H "X-Forwarded-Proto: https" "http://127.0.0.1:$WEB_PORT$1" || true
}

run_migrate() {
  local ctr
  buildah rm preserve-image-check-migrate >/dev/null 2>&1 || true
  ctr=$(buildah from --pull=never --name preserve-image-check-migrate "$IMAGE"); CONTAINERS+=("$ctr")
  in_container "$ctr" /app/docker/entrypoint.sh migrate >"$WORK/migrate.log" 2>&1 \
    || fail "migrate exited non-zero" migrate
  say "migrate applied every migration"
}

wait_ready() {
  local started=$1 status
  for _ in $(seq 1 600); do
    status=$(http_status /readyz)
    if [ "$status" = 200 ]; then READY_MS=$(ms_since "$started"); return; fi
    sleep 0.1
  done
  fail "/readyz never answered 200 (last: $status)" web
}

# Each gunicorn worker reads the migration state on its first call; measure after that.
readyz_latency() {
  local times
  for _ in $(seq 1 10); do http_status /readyz >/dev/null; done
  times=$(for _ in $(seq 1 20); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Host: localhost" -H "X-Forwarded-Proto: https" \
      "http://127.0.0.1:$WEB_PORT/readyz"
  done | sort -n)
  READYZ_MEDIAN_MS=$(echo "$times" | awk '{a[NR] = $1 * 1000} END {printf "%.1f", a[int((NR + 1) / 2)]}')
  READYZ_P90_MS=$(echo "$times" | awk '{a[NR] = $1 * 1000} END {printf "%.1f", a[int(NR * 0.9)]}')
}

check_login_page() {
  local status
  status=$(http_status /accounts/login/)
  [ "$status" = 200 ] || fail "the login page answered $status" web
  say "the login page answered 200"
}

# Every process started from the image runs as the app user; that user cannot write the code.
# The app's processes are the descendants of each `buildah run` that live in a container's
# filesystem (buildah's own helpers stay on the host's).
check_users_and_code() {
  local pid uid count=0
  for pid in $(ps -eo pid=,ppid= | awk -v roots="${ROLE_PIDS[*]}" '
      { parent[$1] = $2 }
      END {
        n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1
        do { grew = 0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; grew = 1 } } while (grew)
        for (p in keep) print p
      }'); do
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" != / ] || continue
    uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    [ -n "$uid" ] || continue
    [ "$uid" = "$APP_UID" ] || fail "$(tr '\0' ' ' <"/proc/$pid/cmdline") runs as uid $uid"
    count=$((count + 1))
  done
  # gunicorn's master and two workers, the worker's main and pool processes, beat.
  [ "$count" -ge 6 ] || fail "expected at least 6 processes in the web, worker and beat containers, found $count"
  in_container "${ROLE_CONTAINERS[0]}" sh -c '
    [ "$(id -u)" != 0 ] || { echo "runs as root"; exit 1; }
    for path in /app /app/manage.py /app/preservation /app/config/settings/production.py /opt/venv/lib; do
      [ ! -w "$path" ] || { echo "$path is writable"; exit 1; }
    done
    if touch /app/written 2>/dev/null; then echo "wrote into /app"; exit 1; fi
    [ -w /data/media ] || { echo "/data/media is not writable"; exit 1; }
  ' || fail "the app user can write the code, or runs as root"
  say "$count processes run as uid $APP_UID; the code is read-only to them"
}

# A reminder due now, written through the web container's Django; the worker sends it.
create_due_reminder() {
  local web=$1
  in_container "$web" /app/docker/entrypoint.sh manage shell -c '
from datetime import timedelta
from django.utils import timezone
from preservation.models import Agency, PreservationRequest, Reminder, ReminderKind, User
now = timezone.now()
agency = Agency.objects.create(name="Image check", country="US", time_zone="America/New_York")
user = User.objects.create_user(username="image-check", email="officer@image-check.example",
                                agency=agency, last_name="Check")
request = PreservationRequest.objects.create(
    agency=agency, created_by=user, requester_name="Dana Reyes", requester_email=user.email,
    case_number="IMAGE-CHECK-1", data_types=["video_clips"], window_start=now - timedelta(days=2),
    window_end=now - timedelta(days=1), window_zone="America/New_York", account_email="owner@example.com",
    account_country="US")
Reminder.objects.create(request=request, kind=ReminderKind.ACK_MISSING, lead_days=3,
                        day=now.date(), due_at=now - timedelta(minutes=1))
' >"$WORK/reminder.log" 2>&1 || fail "could not create the reminder in the web container" reminder
}

wait_for_mail() {
  local started=$1
  for _ in $(seq 1 180); do
    if grep -rlqs "officer@image-check.example" "$WORK/mail"; then
      say "the worker sent the due reminder to the SMTP sink ($(( $(ms_since "$started") / 1000 )) s after it was due)"
      return
    fi
    sleep 1
  done
  fail "no reminder reached the SMTP sink within 180 s" worker beat smtp
}

main() {
  STARTED=$(date +%s%N)
  ensure_tools
  build_image
  check_no_ca_bundle_in_image
  prepare_services
  app_env
  run_migrate
  local started mail_started
  started=$(date +%s%N)
  start_role web
  wait_ready "$started"
  say "/readyz answered 200 ${READY_MS} ms after the web container started"
  readyz_latency
  say "/readyz after the first calls: median ${READYZ_MEDIAN_MS} ms, 90th percentile ${READYZ_P90_MS} ms" \
    "(20 calls; load average $(cut -d' ' -f1 /proc/loadavg))"
  check_login_page
  start_role worker
  start_role beat
  mail_started=$(date +%s%N)
  create_due_reminder "${ROLE_CONTAINERS[0]}"
  sleep 5
  check_users_and_code
  wait_for_mail "$mail_started"
  if grep -q "Control server error" "$WORK/web.log"; then fail "gunicorn reports a control server error" web; fi
  say "image $IMAGE: ${IMAGE_SIZE}, built in ${BUILD_SECONDS} s, /readyz 200 after ${READY_MS} ms," \
    "then median ${READYZ_MEDIAN_MS} ms"
  echo "image-check: 1 passed, 0 failed"
}

main "$@"; exit
