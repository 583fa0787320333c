#!/usr/bin/env bash
# `make run`: everything on this machine, in the foreground; one Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var "${VAR_DIR:-var}"
export DEBUG="${DEBUG:-1}"
export MOTO_PORT="${MOTO_PORT:-5055}"

# Ports and the public URL from one place (scripts/ports.sh): the banner, the Procfile and
# FRONTEND_URL (pay links in e-mails) all follow WEB_PORT / FLOWER_PORT.
source scripts/ports.sh

if [ -z "${REDIS_URL:-}" ]; then
  port="${LOCAL_REDIS_PORT:-6379}"
  if (exec 3<>/dev/tcp/127.0.0.1/$port && printf 'PING\r\n' >&3 && read -t 2 -r l <&3 && [[ $l == +PONG* ]]) 2>/dev/null; then
    export REDIS_URL="redis://127.0.0.1:$port/0"
    echo "run: Redis answers at $REDIS_URL"
  else
    export EMBEDDED_MODE=1
    echo "run: no Redis answers on 127.0.0.1:$port -> single-machine mode (filesystem broker under var/broker, locks and limits in the database)"
  fi
fi
[ -n "${DATABASE_URL:-}" ] && echo "run: database from DATABASE_URL" || echo "run: SQLite at var/db.sqlite3"

# A moto server on loopback stands in for AWS (SQS, SES) unless a real endpoint/credentials are set.
if [ -z "${AWS_ENDPOINT_URL:-}" ] && [ -z "${AWS_ACCESS_KEY_ID:-}" ]; then
  export AWS_ENDPOINT_URL="http://127.0.0.1:${MOTO_PORT}"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing LOCAL_AWS=1
  echo "run: local AWS (moto) at $AWS_ENDPOINT_URL"
fi

# What the last run's local AWS reported is stale until this run's has started.
rm -f "${VAR_DIR:-var}/local_aws.json"

# Flower always needs a login: keep one generated password under var/ unless one is given.
if [ -z "${FLOWER_BASIC_AUTH:-}" ]; then
  if [ ! -s var/flower_auth ]; then
    printf 'admin:%s' "$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')" > var/flower_auth
    chmod 600 var/flower_auth
    echo "run: Flower login $(cat var/flower_auth) (kept in var/flower_auth)"
  fi
  FLOWER_BASIC_AUTH="$(cat var/flower_auth)"
  export FLOWER_BASIC_AUTH
fi

# The readiness report and /metrics need a token (or an admin login): keep one under var/.
if [ -z "${HEALTH_TOKEN:-}" ]; then
  [ -s var/health_token ] || { .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24), end="")' > var/health_token; chmod 600 var/health_token; }
  HEALTH_TOKEN="$(cat var/health_token)"
  export HEALTH_TOKEN
fi
# Every process on this machine adds its job metrics here; /metrics sums them.
export PROMETHEUS_MULTIPROC_DIR="$PWD/var/metrics"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

# What this run chose, where manage.py finds it (project/settings.py reads var/run.env): so
# `make manage ARGS=health` or `.venv/bin/python manage.py health` next to it sees the same broker.
{
  echo "# written by make run ($(date -u +%FT%TZ)); read by project/settings.py"
  for name in DEBUG REDIS_URL EMBEDDED_MODE DATABASE_URL AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
      MOTO_PORT LOCAL_AWS HEALTH_TOKEN PROMETHEUS_MULTIPROC_DIR WEB_PORT FLOWER_PORT FRONTEND_URL; do
    [ -n "${!name:-}" ] && printf '%s=%s\n' "$name" "${!name}"
  done
} > "${VAR_DIR:-var}/run.env"
chmod 600 "${VAR_DIR:-var}/run.env"

.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py setup_schedules
.venv/bin/python manage.py ensure_admin
web="http://127.0.0.1:$WEB_PORT"
echo "run: web $web/admin/  dashboard $web/admin/jobs/job/dashboard/  flower http://127.0.0.1:$FLOWER_PORT/  pay links $FRONTEND_URL"
echo "run: readiness: make manage ARGS=health   or   curl -H \"Authorization: Bearer \$(cat var/health_token)\" $web/healthz/ready"
echo "run: a process that dies is restarted (logged, with a back-off); one Ctrl-C stops them all"
exec .venv/bin/python scripts/supervise.py -f Procfile
