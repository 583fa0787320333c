FROM python:3.11-slim
# READ_DOT_ENV=0: settings come from the container's environment only, never from a .env file.
# (collectstatic runs with DEBUG=1 and a throw-away key: it needs no secret, the running image does.)
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 READ_DOT_ENV=0 VAR_DIR=/app/var
WORKDIR /app
# Dependencies first (a layer that survives code changes); the project itself installs no package.
# The runtime dependencies only: no extra, so none of `local` (moto, tqdm) or `dev` lands here.
COPY pyproject.toml ./
RUN pip install --no-cache-dir .
COPY . .
RUN useradd --create-home app && mkdir -p /app/var/outbox && \
    DEBUG=1 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 && \
    chown -R app /app/var
USER app
EXPOSE 8000
# gunicorn.conf.py: bind 0.0.0.0:8000, 3 workers, an access log with tokens and OAuth codes masked.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "project.wsgi:application"]
