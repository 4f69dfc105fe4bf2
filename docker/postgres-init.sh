#!/bin/sh
# The app's own database role, made once by the postgres image when its data volume is empty
# (compose.yaml hands this file to /docker-entrypoint-initdb.d): an ordinary role (no superuser,
# no CREATEDB, no CREATEROLE) that owns the app's database and its public schema, so it can run
# migrations and nothing beyond its own database. The superuser (POSTGRES_USER of the postgres
# service) is only for this, backups and maintenance. scripts/image-check.sh runs this file
# against the local PostgreSQL the same way.
#
# Reads POSTGRES_USER (the superuser) and PRESERVE_DB_NAME, PRESERVE_DB_USER, PRESERVE_DB_PASSWORD;
# psql reaches the server as the postgres image's init step does (its PG* variables if set).
set -eu

psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname postgres \
  --set app_db="$PRESERVE_DB_NAME" --set app_user="$PRESERVE_DB_USER" \
  --set app_password="$PRESERVE_DB_PASSWORD" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE DATABASE :"app_db" OWNER :"app_user";
SQL

psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname "$PRESERVE_DB_NAME" \
  --set app_user="$PRESERVE_DB_USER" <<'SQL'
ALTER SCHEMA public OWNER TO :"app_user";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
