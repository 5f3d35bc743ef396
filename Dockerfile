# Production image: gunicorn serving config.wsgi on port 8000, static files served by whitenoise.
# The same image runs the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PFS_DATA_DIR=/data \
    WEB_CONCURRENCY=3 \
    GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000 --access-logfile - --access-logformat '%(h)s %(m)s %(U)s %(s)s %(b)s %(M)sms'"

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app /data \
    && chown app:app /data

WORKDIR /app

# Dependencies first, so code changes do not reinstall them (the project installs no packages
# of its own: `pip install .` pulls in the dependencies listed in pyproject.toml).
COPY pyproject.toml README.md ./
RUN pip install . && rm -rf build ./*.egg-info

COPY . .

# Collect and compress static files at build time; these values exist only for this step.
RUN DJANGO_DEBUG=false \
    DJANGO_SECRET_KEY=build-time-only-collectstatic-key-not-used-at-run-time-0123456789 \
    DATABASE_URL=postgres://build@localhost:5432/build \
    python manage.py collectstatic --noinput -v 0

USER app
EXPOSE 8000
VOLUME ["/data"]

# Gunicorn options come from GUNICORN_CMD_ARGS above (WEB_CONCURRENCY sets the worker count).
# The access log format leaves out query strings (%(U)s is the path only): they can carry PHI.
CMD ["gunicorn", "config.wsgi:application"]
