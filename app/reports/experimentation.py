"""The experimentation report: rigour, publication of every result, spend against the
units' commitments, and the overdue publications (`GET /reports/experimentation`).

Its numbers come from `experimentation_queries` (a fixed four statements); this module
shapes them: shares, the publication gap, the median rigour, and findings.
"""

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import Field
from pydantic_core import to_json
from sqlmodel import Session
from sqlmodel._compat import SQLModelConfig

from app.api import json_pages
from app.core import fiscal
from app.core.config import Settings
from app.core.contract import Money, ResponseModel, money_text
from app.experiments.models import Comparison, ExperimentResult
from app.reports import experimentation_queries as queries
from app.reports import experimentation_summaries, service
from app.reports.findings import Check, crossed, percent
from app.reports.schemas import Finding, FindingCode, ScopedReport, Share
from app.units.service import target_amount

# Amounts in the report: sums of costs and funds, to the cent (app.core.contract.Money).
Amount = Annotated[Decimal, Money(max_digits=18)]

# A published share of supported results this much above the others' is a finding.
PUBLICATION_GAP_THRESHOLD = Fraction(1, 5)

# --- schemas --------------------------------------------------------------------------


class ComparisonCounts(ResponseModel):
    none: int
    before_after: int
    comparison_group: int
    randomized: int


class RigourCounts(ResponseModel):
    """Keys "0" to "5"."""

    model_config = SQLModelConfig(serialize_by_alias=True, validate_by_name=True)

    r0: int = Field(alias="0")
    r1: int = Field(alias="1")
    r2: int = Field(alias="2")
    r3: int = Field(alias="3")
    r4: int = Field(alias="4")
    r5: int = Field(alias="5")


class ExperimentsStarted(ResponseModel):
    experiments: int = Field(description="Experiments whose `started_on` falls within the year.")
    by_comparison: ComparisonCounts = Field(description="Those experiments by `comparison`.")
    by_rigour: RigourCounts = Field(description="Those experiments by `rigour`, 0 to 5.")
    median_rigour: float | None = Field(
        ge=0,
        le=5,
        description="Their median rigour (the mean of the two middle values when their number "
        "is even); null when there is none.",
    )


class ResultPublication(ResponseModel):
    finished: int = Field(description="Completed experiments with this result.")
    published: int = Field(description="Of those, published (`published_on` set).")
    published_share: Share = Field(description="published / finished; null when none finished.")


class PublicationByResult(ResponseModel):
    supported: ResultPublication
    not_supported: ResultPublication
    inconclusive: ResultPublication


class Publication(ResponseModel):
    finished: int = Field(
        description="Experiments whose `ended_on` falls within the year, status `completed` or "
        "`stopped`."
    )
    published: int = Field(description="Of those, published (`published_on` set).")
    due: int = Field(description="Of those, not published: due for publication.")
    overdue: int = Field(
        description="Of the due ones, those whose `ended_on` + `due_days` is before today (UTC)."
    )
    due_days: int = Field(
        description="Days after `ended_on` within which a result is to be published "
        "(`PORTFOLIO_PUBLICATION_DUE_DAYS`)."
    )
    by_result: PublicationByResult = Field(
        description="Completed experiments by result, and how many of each are published."
    )
    publication_gap: float | None = Field(
        ge=-1,
        le=1,
        description="Published share of `supported` results minus the published share of "
        "`not_supported` and `inconclusive` together: above 0, successes are published more "
        "often than failures. Null when either side has none finished.",
    )


class SpendRow(ResponseModel):
    unit_id: int
    code: str
    name: str
    program_funds: Amount | None = Field(
        description="The unit's program funds for the year; null without a commitment."
    )
    target_share: Share = Field(
        description="Committed share of the funds; null without a commitment."
    )
    target_amount: Amount | None = Field(
        description="program_funds x target_share (to the cent); null without a commitment."
    )
    experiment_spend: Amount = Field(
        description="Sum of `cost` of the experiments started within the year that the unit "
        "owns itself (not its descendants')."
    )
    spend_share: float | None = Field(
        ge=0, description="experiment_spend / program_funds; null when there are no funds."
    )
    meets_target: bool | None = Field(
        description="experiment_spend >= program_funds x target_share (the same as "
        "spend_share >= target_share, computed exactly); null without a commitment."
    )


class SpendTotals(ResponseModel):
    program_funds: Amount = Field(description="Summed over the spend rows.")
    experiment_spend: Amount = Field(description="Summed over the spend rows.")
    spend_share: float | None = Field(
        ge=0, description="experiment_spend / program_funds; null when there are no funds."
    )
    target_amount: Amount = Field(description="Summed over the rows with a commitment.")
    units_meeting_target: int
    units_with_commitment: int


class OverdueExperiment(ResponseModel):
    experiment_id: int
    title: str
    unit_id: int
    ended_on: date
    days_overdue: int = Field(
        ge=1, description="Days since `ended_on` + `due_days`: 1 on the first overdue day."
    )


class ExperimentationThresholds(ResponseModel):
    publication_due_days: int = Field(description="`PORTFOLIO_PUBLICATION_DUE_DAYS`.")
    publication_gap: float = Field(description="A publication gap at or above this is a finding.")


EXAMPLE: dict[str, Any] = {
    "unit_id": None,
    "year": 2026,
    "starts_on": "2026-04-01",
    "ends_on": "2027-03-31",
    "thresholds": {"publication_due_days": 90, "publication_gap": 0.2},
    "experiments": {
        "experiments": 8,
        "by_comparison": {"none": 3, "before_after": 2, "comparison_group": 2, "randomized": 1},
        "by_rigour": {"0": 2, "1": 2, "2": 2, "3": 1, "4": 1, "5": 0},
        "median_rigour": 1.5,
    },
    "publication": {
        "finished": 7,
        "published": 4,
        "due": 3,
        "overdue": 1,
        "due_days": 90,
        "by_result": {
            "supported": {"finished": 3, "published": 3, "published_share": 1.0},
            "not_supported": {"finished": 2, "published": 1, "published_share": 0.5},
            "inconclusive": {"finished": 2, "published": 0, "published_share": 0.0},
        },
        "publication_gap": 0.75,
    },
    "spend": [
        {
            "unit_id": 3,
            "code": "TAX-OPS",
            "name": "Tax operations",
            "program_funds": "12000000.00",
            "target_share": 0.05,
            "target_amount": "600000.00",
            "experiment_spend": "420000.00",
            "spend_share": 0.035,
            "meets_target": False,
        }
    ],
    "totals": {
        "program_funds": "12000000.00",
        "experiment_spend": "420000.00",
        "spend_share": 0.035,
        "target_amount": "600000.00",
        "units_meeting_target": 0,
        "units_with_commitment": 1,
    },
    "overdue": [
        {
            "experiment_id": 12,
            "title": "Plain-language letters",
            "unit_id": 3,
            "ended_on": "2026-05-31",
            "days_overdue": 12,
        }
    ],
    "findings": [
        {
            "code": "publication_bias",
            "message": "...",
            "value": 0.75,
            "threshold": 0.2,
        }
    ],
}


class ExperimentationReport(ScopedReport):
    """Is the experimentation mandate kept: rigour, publication of every result, spend?"""

    model_config = {"json_schema_extra": {"examples": [EXAMPLE]}}

    year: int = Field(description="The fiscal year, named by the calendar year it starts in.")
    starts_on: date = Field(description="First day of the fiscal year.")
    ends_on: date = Field(description="Last day of the fiscal year.")
    thresholds: ExperimentationThresholds
    experiments: ExperimentsStarted = Field(
        description="Non-archived experiments of non-archived projects in scope, started "
        "within the year."
    )
    publication: Publication
    spend: list[SpendRow] = Field(
        description="One row per non-archived unit in scope with a commitment for the year or "
        "experiment cost in it, by code."
    )
    totals: SpendTotals
    overdue: list[OverdueExperiment] = Field(
        description="Up to 100 overdue experiments (of those that ended within the year), most "
        "overdue first."
    )
    findings: list[Finding] = Field(
        description="`publication_bias` (publication_gap >= 0.2), `overdue_publications` (any "
        "overdue), `below_commitment` (a unit with a commitment misses its target)."
    )


# --- the report -----------------------------------------------------------------------


def median(histogram: list[int]) -> float | None:
    """The median of values 0..n given as counts per value; the mean of the two middle
    values when their number is even."""
    total = sum(histogram)
    if total == 0:
        return None

    def value_at(position: int) -> int:  # 0-based position in sorted order
        seen = 0
        for value, count in enumerate(histogram):
            seen += count
            if position < seen:
                return value
        raise AssertionError("position beyond the histogram")

    middle = total // 2
    if total % 2:
        return float(value_at(middle))
    return (value_at(middle - 1) + value_at(middle)) / 2


def publication_gap(row: Any) -> Fraction | None:
    """Exact, so that a gap of 0.2 (3/5 - 2/5) is not 0.19999999999999996."""
    supported = row.supported_finished
    others = row.not_supported_finished + row.inconclusive_finished
    if not supported or not others:
        return None
    return Fraction(row.supported_published, supported) - Fraction(
        row.not_supported_published + row.inconclusive_published, others
    )


def _money(value: Any) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def _spend_row(row: Any) -> dict[str, Any]:
    # Unpacked once: a Row's attribute access cost more than the arithmetic below, on a
    # row per unit (1,000 at L).
    unit_id, code, name, program_funds, target_share, spend_cents = row
    spend = Decimal(int(spend_cents)).scaleb(-2)
    committed = program_funds is not None
    funds = _money(program_funds) if committed else None
    share = float(target_share) if committed else None
    return {
        "unit_id": unit_id,
        "code": code,
        "name": name,
        "program_funds": funds,
        "target_share": share,
        "target_amount": target_amount(funds, share)
        if funds is not None and share is not None
        else None,
        "experiment_spend": spend,
        "spend_share": float(spend / funds) if funds else None,
        "meets_target": spend >= funds * Decimal(repr(share))
        if funds is not None and share is not None
        else None,
    }


def _document(
    *, session: Session, settings: Settings, root_id: int | None, year: int | None, today: date
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The report's fields but `spend`, and its spend rows (Python values, in field order)."""
    start_month = settings.fiscal_year_start_month
    year = fiscal.year_of(today, start_month) if year is None else year
    start, end = fiscal.bounds(year, start_month)
    due_days = settings.publication_due_days
    cutoff = date.fromordinal(today.toordinal() - due_days)
    started = queries.started(session=session, root_id=root_id, start=start, end=end)
    published = queries.publication(
        session=session, root_id=root_id, start=start, end=end, cutoff=cutoff
    )
    spend_rows = queries.spend_rows(
        session=session, root_id=root_id, year=year, start=start, end=end
    )
    overdue_rows = queries.overdue(
        session=session, root_id=root_id, start=start, end=end, cutoff=cutoff
    )
    session.commit()
    experimentation_summaries.compact_if_needed(
        session=session, written_since_compaction=int(started.written) + int(published.written)
    )

    counts = started._mapping
    by_comparison = {c.value: int(counts[f"comparison_{c.value}"]) for c in Comparison}
    histogram = [int(counts[f"rigour_{n}"]) for n in experimentation_summaries.RIGOUR_LEVELS]

    by_result = {
        result.value: {
            "finished": getattr(published, f"{result.value}_finished"),
            "published": getattr(published, f"{result.value}_published"),
            "published_share": service.share(
                getattr(published, f"{result.value}_published"),
                getattr(published, f"{result.value}_finished"),
            ),
        }
        for result in ExperimentResult
    }
    gap = publication_gap(published)

    spend = [_spend_row(row) for row in spend_rows]
    with_commitment = [row for row in spend if row["program_funds"] is not None]
    total_funds = sum((row["program_funds"] for row in with_commitment), Decimal(0))
    total_spend = sum((row["experiment_spend"] for row in spend), Decimal(0))
    meeting = sum(1 for row in with_commitment if row["meets_target"])
    totals = {
        "program_funds": total_funds,
        "experiment_spend": total_spend,
        "spend_share": float(total_spend / total_funds) if total_funds else None,
        "target_amount": sum((row["target_amount"] for row in with_commitment), Decimal(0)),
        "units_meeting_target": meeting,
        "units_with_commitment": len(with_commitment),
    }

    supported = by_result[ExperimentResult.supported]["published_share"]
    missing = len(with_commitment) - meeting
    findings = crossed(
        Check(
            FindingCode.publication_bias,
            gap,
            PUBLICATION_GAP_THRESHOLD,
            message=lambda gap: (
                f"{percent(supported)} of supported results were published, "
                f"{percent(gap)} more than of the negative and inconclusive ones. "
                "Leadership can require every finished experiment to be published whatever "
                "its result, and ask teams to preregister their analysis plans."
            ),
        ),
        Check(
            FindingCode.overdue_publications,
            published.overdue,
            1,
            message=lambda overdue: (
                f"{overdue} experiment(s) finished more than {due_days} days "
                "ago without a published result. Leadership can set a publication date for "
                "each and track it with the teams."
            ),
        ),
        Check(
            FindingCode.below_commitment,
            missing,
            1,
            message=lambda missing: (
                f"{missing} of the {len(with_commitment)} unit(s) with a commitment "
                f"spend less on experimentation than committed for {year}. Leadership can "
                "fund experiments within those programs, or revisit the commitment."
            ),
        ),
    )

    document = {
        "unit_id": root_id,
        "year": year,
        "starts_on": start,
        "ends_on": date.fromordinal(end.toordinal() - 1),
        "thresholds": {
            "publication_due_days": due_days,
            "publication_gap": float(PUBLICATION_GAP_THRESHOLD),
        },
        "experiments": {
            "experiments": sum(histogram),
            "by_comparison": by_comparison,
            "by_rigour": {str(level): count for level, count in enumerate(histogram)},
            "median_rigour": median(histogram),
        },
        "publication": {
            "finished": published.finished,
            "published": published.published,
            "due": published.due,
            "overdue": published.overdue,
            "due_days": due_days,
            "by_result": by_result,
            "publication_gap": None if gap is None else float(gap),
        },
        "totals": totals,
        "overdue": [
            {
                "experiment_id": row.experiment_id,
                "title": row.title,
                "unit_id": row.unit_id,
                "ended_on": row.ended_on,
                "days_overdue": (today - row.ended_on).days - due_days,
            }
            for row in overdue_rows
        ],
        "findings": findings,
    }
    return document, spend


def build(
    *, session: Session, settings: Settings, root_id: int | None, year: int | None, today: date
) -> ExperimentationReport:
    document, spend = _document(
        session=session, settings=settings, root_id=root_id, year=year, today=today
    )
    return ExperimentationReport.model_validate({**document, "spend": spend})


# The spend rows' amounts, in the API's one text form of money.
_SPEND_AMOUNTS = ("program_funds", "target_amount", "experiment_spend")


def build_json(
    *, session: Session, settings: Settings, root_id: int | None, year: int | None, today: date
) -> bytes:
    """`build(...).model_dump_json()`, with the spend rows written as JSON directly: one per
    unit with a commitment or spend (1,000 at L), validating them into models cost more
    than the rest of the report (bench/RESULTS.md, issue 17). The rows are already in the
    model's field order and types; `tests/reports/test_experimentation.py` holds the two
    documents equal, key order included."""
    document, spend = _document(
        session=session, settings=settings, root_id=root_id, year=year, today=today
    )
    report = ExperimentationReport.model_validate({**document, "spend": []})
    rows = [
        {
            name: money_text(value) if name in _SPEND_AMOUNTS and value is not None else value
            for name, value in row.items()
        }
        for row in spend
    ]
    return json_pages.model_json(report, {"spend": to_json(rows)})
