# The production image: `docker build -t bookstore-api .`
# Multi-stage: Poetry and the build tools stay in the first stage; the runtime stage has
# the application and its virtualenv only, and runs as an unprivileged user.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    POETRY_NO_INTERACTION=1 \
    POETRY_VIRTUALENVS_IN_PROJECT=true
RUN pip install "poetry>=2.0,<3"
WORKDIR /srv/bookstore
# Dependencies first: this layer is rebuilt only when the lock file changes.
COPY pyproject.toml poetry.lock README.md ./
RUN poetry install --only main --no-root
COPY app ./app
# The project's build lists the benchmark package, so installing the project needs it; the
# image then drops it and its console script (it runs only with the dev dependencies).
COPY bench ./bench
COPY alembic ./alembic
COPY alembic.ini ./
RUN poetry install --only main && rm -r bench .venv/bin/bench

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 bookstore
WORKDIR /srv/bookstore
COPY --from=build --chown=bookstore:bookstore /srv/bookstore /srv/bookstore
ENV PATH="/srv/bookstore/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    ENV=production
USER bookstore
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status != 200)"]
# `serve` is the console script `poetry run serve` runs (Poetry itself isn't in this
# image). Migrations are a separate step: `docker compose run --rm migrate`.
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
