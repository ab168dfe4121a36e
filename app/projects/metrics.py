"""Projects by stage for Prometheus, counted when /metrics is scraped."""

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.projects import service as project_service

error_logger = logging.getLogger("portfolio.errors")


class ProjectsByStage(Collector):
    """Counted by one GROUP BY when scraped, so the numbers are never stale."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with Session(self.engine) as session:
                counts = project_service.count_by_stage(session=session)
        except SQLAlchemyError:
            error_logger.warning("projects by stage not collected: database unavailable")
            return
        family = GaugeMetricFamily(
            "portfolio_projects", "Non-archived projects by stage.", labels=["stage"]
        )
        for stage, count in counts.items():
            family.add_metric([stage.value], count)
        yield family
