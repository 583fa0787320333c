FROM python:3.11-slim
# READ_DOT_ENV=0: settings come from the container's environment only, never from a .env file.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 READ_DOT_ENV=0 VAR_DIR=/app/var
WORKDIR /app
# Dependencies first (a layer that survives code changes); the project itself installs no package.
COPY pyproject.toml ./
RUN pip install --no-cache-dir .
COPY . .
RUN useradd --create-home app && mkdir -p /app/var && \
    SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 && \
    chown -R app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "project.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
