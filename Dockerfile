# syntax=docker/dockerfile:1
# Preserve: one image for the web (gunicorn), the Celery worker, Celery beat and migrations.
# The role is the command: web | worker | beat | migrate | manage ... (docker/entrypoint.sh).
#
#   docker build -t preserve .
#   docker build --secret id=ca-bundle,src=/path/to/extra-ca.pem -t preserve .
#
# Stages: "assets" fetches Bootstrap from the npm registry, "build" installs the Python
# dependencies into /opt/venv and compiles translations and static files, "runtime" holds only
# what runs: Python, WeasyPrint's system libraries and fonts, the venv and the built /app, as a
# non-root user who cannot write to the code.
#
# Behind a TLS-inspecting proxy, hand its certificate authority (a PEM bundle) to the build as
# the optional secret "ca-bundle": apt, pip and npm trust it while they download, and no stage
# keeps it (a secret is mounted for one RUN only; README "Building behind a TLS-inspecting proxy").
#
# Every base image is a build argument whose default is the upstream image; scripts/image-check.sh
# passes bases it made with debootstrap where the upstream ones cannot be pulled.

# System packages are pinned to Debian bookworm's versions (reproducible builds, hadolint DL3008).
# When a bookworm point release replaces one, the build stops on it: read the new version with
# `docker run --rm python:3.11-slim-bookworm sh -c 'apt-get update -qq && apt-cache policy PKG'`.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=ca-bundle,required=false \
    if [ -s /run/secrets/ca-bundle ]; then export NPM_CONFIG_CAFILE=/run/secrets/ca-bundle; fi \
    && npm ci --omit=dev --no-audit --no-fund

FROM ${PYTHON_IMAGE} AS build
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH
# gettext for compilemessages; Pango too, so the build never depends on where the app imports WeasyPrint.
# An empty Acquire::https::CAInfo is apt's default: the system's trust store.
RUN --mount=type=secret,id=ca-bundle,required=false \
    ca=""; if [ -s /run/secrets/ca-bundle ]; then ca=/run/secrets/ca-bundle; fi \
    && apt-get -o Acquire::https::CAInfo="$ca" update \
    && apt-get -o Acquire::https::CAInfo="$ca" install -y --no-install-recommends \
        gettext=0.21-12 \
        libpango-1.0-0=1.50.12+ds-1 \
        libpangoft2-1.0-0=1.50.12+ds-1 \
        libharfbuzz-subset0=6.0.0+dfsg-3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt ./
# pip and setuptools only install: the runtime never needs them.
RUN --mount=type=secret,id=ca-bundle,required=false \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && python -m venv /opt/venv \
    && pip install --no-cache-dir -r requirements.txt \
    && pip uninstall --yes pip setuptools
COPY . .
COPY --from=assets /src/node_modules/bootstrap/dist node_modules/bootstrap/dist
# Production settings refuse a default key; this one exists only for these two build commands
# and is never part of the image's environment.
RUN export DJANGO_SETTINGS_MODULE=config.settings.production \
        DJANGO_SECRET_KEY=build-time-only-collectstatic-and-compilemessages-not-a-secret \
    && python manage.py compilemessages --ignore=node_modules -v 0 \
    && python manage.py collectstatic --noinput -v 0 \
    && rm -rf node_modules \
    && find locale -name "*.po" -delete \
    && python -m compileall -q -j 0 --invalidation-mode unchecked-hash /app \
    && chmod 0755 docker/entrypoint.sh

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="Preserve" \
      org.opencontainers.image.description="Data-preservation requests to Blink: web, worker and beat"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    MEDIA_ROOT=/data/media \
    PORT=8000 \
    XDG_CACHE_HOME=/tmp/.cache
# WeasyPrint renders PDFs with Pango and subsets fonts with HarfBuzz; a slim image has no fonts:
# DejaVu sets the documents, WenQuanYi Micro Hei the Chinese, Japanese and Korean file names in
# USB manifests.
RUN --mount=type=secret,id=ca-bundle,required=false \
    ca=""; if [ -s /run/secrets/ca-bundle ]; then ca=/run/secrets/ca-bundle; fi \
    && apt-get -o Acquire::https::CAInfo="$ca" update \
    && apt-get -o Acquire::https::CAInfo="$ca" install -y --no-install-recommends \
        libpango-1.0-0=1.50.12+ds-1 \
        libpangoft2-1.0-0=1.50.12+ds-1 \
        libharfbuzz-subset0=6.0.0+dfsg-3 \
        fonts-dejavu-core=2.37-6 \
        fonts-wqy-microhei=0.2.0-beta-3.1 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
    && groupadd --system --gid 10001 preserve \
    && useradd --system --uid 10001 --gid preserve --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin preserve \
    && install -d -o preserve -g preserve -m 0750 /data /data/media
COPY --from=build /opt/venv /opt/venv
# Owned by root and read-only to the app user: a compromised process cannot change the code.
COPY --from=build /app /app
WORKDIR /app
USER 10001:10001
VOLUME ["/data/media"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
