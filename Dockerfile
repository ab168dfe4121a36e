# syntax=docker/dockerfile:1
# The portfolio API image: `docker compose up` runs it (see docker-compose.yml).

# Build stage: a virtual environment with the project installed from pyproject.toml.
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /srv/portfolio
# Dependencies first, from pyproject.toml alone, so this layer survives code changes.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py \
    && /opt/venv/bin/pip install . \
    && /opt/venv/bin/pip uninstall -y portfolio \
    && rm -rf app build *.egg-info
COPY app ./app
COPY migrations ./migrations
COPY openapi ./openapi
# Installed in place: app/core/migrations.py finds migrations/ next to the app package.
RUN /opt/venv/bin/pip install --no-deps -e .

# Runtime stage: the venv and the code, no build tools, a non-root user.
FROM python:3.12-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin portfolio
COPY --from=build /opt/venv /opt/venv
COPY --from=build /srv/portfolio /srv/portfolio
WORKDIR /srv/portfolio
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORTFOLIO_HOST=0.0.0.0 \
    PORTFOLIO_PORT=8000 \
    PORTFOLIO_LOG_FORMAT=json
USER portfolio
EXPOSE 8000
# python -m urllib inside `portfolio healthcheck`: slim images have no curl.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["portfolio", "healthcheck"]
CMD ["portfolio", "serve", "--no-migrate"]
