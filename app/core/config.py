"""All settings, read from the environment (prefix ``PORTFOLIO_``) in one place."""

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTFOLIO_", env_file=".env", extra="ignore")

    # DATABASE_URL without prefix is accepted too: it is what hosting platforms set.
    database_url: str = Field(
        default="sqlite:///./portfolio.db",
        validation_alias=AliasChoices("PORTFOLIO_DATABASE_URL", "DATABASE_URL"),
    )
    # Per worker process. Sync routes run in a threadpool of 40; with one worker a pool of
    # 40 (20 + 20 overflow) never makes them queue. With several workers the total,
    # workers x (pool + overflow), must stay below PostgreSQL's max_connections (100 by
    # default) with room for other clients: docker-compose.yml runs 4 x (10 + 5) = 60.
    db_pool_size: int = 20
    db_max_overflow: int = 20
    db_pool_timeout_seconds: float = 5.0
    db_connect_timeout_seconds: int = 5
    db_statement_timeout_ms: int = 30_000
    sqlite_busy_timeout_ms: int = 30_000
    # PostgreSQL's JIT compiles the report aggregates for up to a second per call at a
    # million rows and wins nothing back (bench/RESULTS.md); off unless asked for.
    db_jit: bool = False

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1

    cors_origins: list[str] = []
    log_level: str = "INFO"
    log_format: str = "json"

    require_if_match: bool = False
    max_body_bytes: int = 1 * 1024 * 1024
    max_batch_body_bytes: int = 10 * 1024 * 1024
    idempotency_retention_hours: int = 24
    # A claim not completed within this time belongs to a request whose process died;
    # a retry may take it over. Longer than any request runs (statements stop at 30 s).
    idempotency_lock_timeout_seconds: int = 120

    # Report thresholds (issue: reports/spread); echoed in the spread report.
    min_active_projects: int = 5
    share_threshold: float = 0.5

    # Experimentation (issue 15): an experiment that ended is overdue for publication this
    # many days after `ended_on`; the fiscal year starts on the first day of this month;
    # the open register of results (`/public/v1/...`) answers only when switched on.
    publication_due_days: int = Field(default=90, ge=0, le=3650)
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    public_register: bool = False

    # Operations (issue 6): where `portfolio serve` keeps prometheus_client's per-process
    # files when workers > 1 (a fresh temporary directory when unset); rows per keyset
    # batch when a list is streamed as CSV; which proxies may set X-Forwarded-For/-Proto.
    metrics_enabled: bool = True
    metrics_dir: str | None = None
    csv_batch_size: int = Field(default=500, ge=1, le=10_000)
    forwarded_allow_ips: str = "127.0.0.1"
    # A worker that does not answer the supervisor's ping in time is replaced; importing
    # the app on a busy machine can take longer than uvicorn's default of 5 s.
    worker_healthcheck_timeout_seconds: int = Field(default=20, ge=1)


@lru_cache
def get_settings() -> Settings:
    return Settings()
