"""All settings, read from the environment (prefix ``PORTFOLIO_``) in one place."""

from functools import lru_cache
from typing import Any

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _stall_limit(stage: str, default: int) -> Any:
    """A stage's stall limit in days: at least 1, at most a hundred years."""
    return Field(
        default=default,
        ge=1,
        le=36_500,
        description=f"Days in `{stage}` after which a project is stalled.",
        examples=[default],
    )


class StallDays(BaseModel):
    """Days in a stage after which a project counts as stalled (the flow report)."""

    # Echoed whole in the flow report: every key is in the response.
    model_config = {"extra": "forbid", "json_schema_serialization_defaults_required": True}

    exploration: int = _stall_limit("exploration", 180)
    experiment: int = _stall_limit("experiment", 270)
    scaling: int = _stall_limit("scaling", 365)


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
    # The largest response kept for replays. A 4xx is small (at most 100 errors); a batch's
    # 201 can reach ~5x its 10 MiB body. 8 MiB keeps a batch of 1,000 experiments with about
    # 15 criteria each; past it the response is not stored (`idempotency.dependency`).
    idempotency_max_response_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)

    # Report thresholds (issue: reports/spread); echoed in the spread report.
    min_active_projects: int = 5
    share_threshold: float = 0.5
    # Flow report (issue 12): a JSON object, e.g. {"exploration": 90}; a stage left out
    # keeps its default, an unknown key or a number outside 1-36500 stops the start.
    stall_days: StallDays = StallDays()

    # Experimentation (issue 15): an experiment that ended is overdue for publication this
    # many days after `ended_on`; the fiscal year starts on the first day of this month;
    # the open register of results (`/public/v1/...`) answers only when switched on.
    publication_due_days: int = Field(default=90, ge=0, le=3650)
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    public_register: bool = False
    # Report answers kept by ETag per worker process (app.reports.answers), at most this
    # many bytes of bodies; 0 turns the cache off (the benchmark times the reports so).
    report_cache_bytes: int = Field(default=16 * 1024 * 1024, ge=0)

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

    # Rate limits (issue 13): token buckets per worker process (app.core.rate_limit says
    # why in process). Per API key: `rate_limit_burst` requests at once, then
    # `rate_limit_per_second`; the load test's busiest key (a dashboard) asks about 25 per
    # second per worker, so the default leaves it room. Requests without a valid key, per
    # client address: far lower (a person with a typo needs a few, a scanner many).
    # A rate of 0 turns that limit off.
    rate_limit_per_second: float = Field(default=50.0, ge=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    anonymous_rate_limit_per_second: float = Field(default=1.0, ge=0)
    anonymous_rate_limit_burst: int = Field(default=20, ge=1)
    # Buckets kept per worker (about 200 bytes each); full ones are dropped first.
    rate_limit_max_buckets: int = Field(default=10_000, ge=1)

    # The HTTP layer (issue 13), enforced by `portfolio serve`'s protocol and by
    # app.api.request_limits: the request line and headers together, and how many header
    # fields (a browser sends 10-20; nginx's default buffers hold 4 x 8 KiB); how long a
    # client may take to send them, and the whole body; an idle keep-alive connection's
    # life; open connections per worker (beyond it uvicorn answers 503).
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    max_header_count: int = Field(default=100, ge=10)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=60.0, gt=0)
    keep_alive_timeout_seconds: int = Field(default=5, ge=1)
    max_connections: int = Field(default=1000, ge=1)


@lru_cache
def get_settings() -> Settings:
    return Settings()
