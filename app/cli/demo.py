"""A demonstration portfolio, written through the services like any API client's data.

Four departments with branches, two labs, projects in every stage, work mode and sponsor
level, risks, determinant tags, experiments with results and lessons, and criteria with
measurements (met, missed and pending), so every report has something to say on a first
run. Dates are relative to today, so criteria stay met/missed/pending as described.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app.auth.models import Actor
from app.core.db import single_transaction, today
from app.criteria import service as criteria_service
from app.criteria.models import CriterionCreate, MeasurementCreate
from app.experiments import service as experiment_service
from app.experiments.models import ExperimentCreate
from app.projects import service as project_service
from app.projects.models import ProjectCreate
from app.units import service as unit_service
from app.units.models import Unit, UnitCreate

# (code, name, kind, parent code)
UNITS: list[tuple[str, str, str, str | None]] = [
    ("REV", "Revenue Agency", "corporate", None),
    ("REV-TAX", "Tax Operations", "business_line", "REV"),
    ("REV-COL", "Collections", "business_line", "REV"),
    ("REV-LAB", "Revenue Innovation Lab", "innovation_lab", "REV"),
    ("HLT", "Health Department", "corporate", None),
    ("HLT-CLN", "Clinical Services", "business_line", "HLT"),
    ("HLT-PUB", "Public Health", "business_line", "HLT"),
    ("TRN", "Transport Department", "corporate", None),
    ("TRN-RDS", "Road Safety", "business_line", "TRN"),
    ("TRN-LIC", "Driver Licensing", "business_line", "TRN"),
    ("CORP", "Corporate Services", "corporate", None),
    ("CORP-HR", "Human Resources", "corporate", "CORP"),
    ("CORP-IT", "Digital and IT", "corporate", "CORP"),
    ("GOV-LAB", "Government Innovation Lab", "innovation_lab", None),
]


@dataclass
class DemoCriterion:
    metric: str
    kind: str
    unit_of_measure: str
    baseline: float
    target: float
    direction: str
    due_in_days: int
    # (value, days ago)
    measurements: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class DemoExperiment:
    title: str
    hypothesis: str
    method: str
    status: str
    result: str | None = None
    lessons: str | None = None
    started_days_ago: int | None = None
    ended_days_ago: int | None = None
    determinants: list[dict[str, Any]] = field(default_factory=list)
    criteria: list[DemoCriterion] = field(default_factory=list)


@dataclass
class DemoProject:
    unit: str
    title: str
    summary: str
    sponsor_level: str
    sponsor: str
    work_mode: str
    stage: str
    facet: str | None
    # (likelihood, impact, risk of not innovating, mitigation) or None
    risk: tuple[int, int, int, str] | None
    determinants: list[dict[str, Any]]
    budget: float | None = None
    fte: float | None = None
    started_days_ago: int | None = None
    ended_days_ago: int | None = None
    experiments: list[DemoExperiment] = field(default_factory=list)
    criteria: list[DemoCriterion] = field(default_factory=list)


def tag(determinant: str, effect: str, note: str) -> dict[str, Any]:
    return {"determinant": determinant, "effect": effect, "note": note}


PROJECTS: list[DemoProject] = [
    DemoProject(
        unit="REV-TAX",
        title="Pre-filled returns for sole traders",
        summary="Use last year's return and bank data to pre-fill the annual return.",
        sponsor_level="organizational",
        sponsor="Deputy Commissioner, Individuals",
        work_mode="core_business",
        stage="scaling",
        facet="enhancement",
        risk=(2, 4, 4, "Taxpayers confirm every pre-filled figure; opt-out at any time"),
        determinants=[
            tag("parity", "enabler", "Part of the branch's annual business plan and budget"),
            tag("suitability", "barrier", "Bank data feed arrives two weeks late"),
        ],
        budget=250000,
        fte=3.5,
        started_days_ago=420,
        experiments=[
            DemoExperiment(
                title="Pre-filled return, 500 sole traders",
                hypothesis="Pre-filling cuts median filing time by a third",
                method="rct",
                status="completed",
                result="supported",
                lessons="Most time went into checking bank data, not typing it.",
                started_days_ago=300,
                ended_days_ago=210,
                determinants=[tag("suitability", "enabler", "Existing e-filing platform reused")],
                criteria=[
                    DemoCriterion(
                        "Median minutes to file a return",
                        "outcome",
                        "minutes",
                        95,
                        60,
                        "decrease",
                        -200,
                        [(88, 280), (58, 215)],
                    )
                ],
            ),
            DemoExperiment(
                title="Pre-filled return, all sole traders in one region",
                hypothesis="Time savings hold at regional scale",
                method="pilot",
                status="running",
                started_days_ago=60,
            ),
        ],
        criteria=[
            DemoCriterion(
                "Returns filed on time",
                "outcome",
                "percent",
                71,
                85,
                "increase",
                120,
                [(74, 150), (79, 30)],
            )
        ],
    ),
    DemoProject(
        unit="REV-TAX",
        title="Plain-language assessment notices",
        summary="Rewrite the ten most common notices with behavioural insights.",
        sponsor_level="organizational",
        sponsor="Director, Taxpayer Services",
        work_mode="core_business",
        stage="embedded",
        facet="enhancement",
        risk=(1, 2, 3, "Legal review of every rewritten notice"),
        determinants=[tag("normality", "enabler", "Notice reviews are now a routine task")],
        budget=40000,
        fte=1,
        started_days_ago=720,
        ended_days_ago=200,
        experiments=[
            DemoExperiment(
                title="A/B test of the late-payment notice",
                hypothesis="A plain-language notice raises on-time payment",
                method="ab_test",
                status="completed",
                result="supported",
                lessons="Putting the amount and the date first mattered more than tone.",
                started_days_ago=600,
                ended_days_ago=540,
            )
        ],
    ),
    DemoProject(
        unit="REV-TAX",
        title="Chatbot for filing questions",
        summary="Answer the top 50 filing questions around the clock.",
        sponsor_level="individual",
        sponsor="Team lead, contact centre",
        work_mode="side_of_desk",
        stage="exploration",
        facet="adaptive",
        risk=(3, 3, 2, "Hand-over to an agent on every uncertain answer"),
        determinants=[tag("clarity", "barrier", "Nobody knows who may approve a public bot")],
        started_days_ago=90,
    ),
    DemoProject(
        unit="REV-COL",
        title="Predictive payment plans",
        summary="Offer a payment plan before a debt reaches collections.",
        sponsor_level="organizational",
        sponsor="Assistant Commissioner, Collections",
        work_mode="core_business",
        stage="experiment",
        facet="enhancement",
        risk=(3, 4, 4, "Model decisions reviewed by an officer; bias audit every quarter"),
        determinants=[
            tag("parity", "enabler", "Counted in the branch's performance targets"),
            tag("clarity", "enabler", "Mandate letter names early resolution"),
        ],
        budget=180000,
        fte=2,
        started_days_ago=240,
        experiments=[
            DemoExperiment(
                title="Early payment-plan offer to 2,000 debtors",
                hypothesis="An early offer halves referrals to collections",
                method="rct",
                status="completed",
                result="inconclusive",
                lessons="Uptake was too low to tell; the letter was not read. Try SMS.",
                started_days_ago=200,
                ended_days_ago=110,
                criteria=[
                    DemoCriterion(
                        "Referrals to collections",
                        "outcome",
                        "percent",
                        18,
                        9,
                        "decrease",
                        -100,
                        [(16, 120)],
                    )
                ],
            ),
            DemoExperiment(
                title="SMS reminder with a payment-plan link",
                hypothesis="An SMS is read where a letter is not",
                method="ab_test",
                status="running",
                started_days_ago=40,
                determinants=[tag("suitability", "barrier", "SMS gateway needs a security review")],
            ),
        ],
    ),
    DemoProject(
        unit="REV-COL",
        title="Voice analytics for collection calls",
        summary="Spot distressed callers and route them to specialised agents.",
        sponsor_level="individual",
        sponsor="Senior agent",
        work_mode="side_of_desk",
        stage="stopped",
        facet="anticipatory",
        risk=(4, 4, 2, "None agreed"),
        determinants=[tag("suitability", "barrier", "Call recordings cannot leave the site")],
        started_days_ago=500,
        ended_days_ago=380,
    ),
    DemoProject(
        unit="REV-LAB",
        title="Real-time tax for the gig economy",
        summary="Withhold tax at the platform when a gig is paid.",
        sponsor_level="system",
        sponsor="Minister of Finance",
        work_mode="dedicated",
        stage="exploration",
        facet="anticipatory",
        risk=(4, 5, 5, "Co-design with three platforms before any rule change"),
        determinants=[
            tag("clarity", "enabler", "Named in the government's digital economy strategy"),
            tag("parity", "barrier", "Competes with the filing season for staff"),
        ],
        budget=500000,
        fte=4,
        started_days_ago=150,
        experiments=[
            DemoExperiment(
                title="Simulation of withholding on 10,000 gig payments",
                hypothesis="Withholding at source closes most of the gap",
                method="simulation",
                status="completed",
                result="supported",
                lessons="Works for ride-hailing; delivery platforms pay too irregularly.",
                started_days_ago=120,
                ended_days_ago=70,
            )
        ],
        criteria=[
            DemoCriterion(
                "Platforms signed up for co-design",
                "output",
                "platforms",
                0,
                3,
                "increase",
                60,
                [(1, 45), (2, 10)],
            )
        ],
    ),
    DemoProject(
        unit="REV-LAB",
        title="Tax-gap nowcasting",
        summary="Estimate the tax gap monthly instead of every three years.",
        sponsor_level="organizational",
        sponsor="Chief Economist",
        work_mode="dedicated",
        stage="idea",
        facet="anticipatory",
        risk=None,
        determinants=[],
    ),
    DemoProject(
        unit="HLT-CLN",
        title="Virtual ward for heart failure",
        summary="Monitor patients at home after discharge.",
        sponsor_level="individual",
        sponsor="Consultant cardiologist",
        work_mode="side_of_desk",
        stage="experiment",
        facet="mission",
        risk=(3, 5, 4, "Nurse on call; patients keep their usual GP"),
        determinants=[
            tag("parity", "barrier", "Done in the evenings; bed targets come first"),
            tag("normality", "barrier", "Seen as one doctor's hobby"),
        ],
        fte=0.2,
        started_days_ago=260,
        experiments=[
            DemoExperiment(
                title="Home monitoring for 40 patients",
                hypothesis="Home monitoring cuts 30-day readmissions",
                method="pilot",
                status="completed",
                result="supported",
                lessons="Patients liked it; the blocker is who pays for the devices.",
                started_days_ago=230,
                ended_days_ago=140,
                determinants=[tag("parity", "barrier", "No budget line for devices")],
                criteria=[
                    DemoCriterion(
                        "30-day readmissions",
                        "outcome",
                        "percent",
                        24,
                        15,
                        "decrease",
                        -120,
                        [(19, 150)],
                    )
                ],
            )
        ],
        criteria=[
            DemoCriterion(
                "Patients enrolled",
                "activity",
                "patients",
                0,
                200,
                "increase",
                -30,
                [(40, 200), (65, 60)],
            )
        ],
    ),
    DemoProject(
        unit="HLT-CLN",
        title="AI triage of dermatology referrals",
        summary="Prioritise referrals from photos taken by the GP.",
        sponsor_level="individual",
        sponsor="Registrar, dermatology",
        work_mode="side_of_desk",
        stage="exploration",
        facet="adaptive",
        risk=(4, 5, 3, "Every AI decision reviewed by a dermatologist"),
        determinants=[tag("clarity", "barrier", "No approval route for clinical AI")],
        started_days_ago=80,
    ),
    DemoProject(
        unit="HLT-CLN",
        title="Shared-decision aids in outpatients",
        summary="Printed and online aids for five common procedures.",
        sponsor_level="organizational",
        sponsor="Medical Director",
        work_mode="core_business",
        stage="embedded",
        facet="enhancement",
        risk=(1, 2, 2, "Patient panel reviews every aid"),
        determinants=[tag("normality", "enabler", "Part of every pre-surgery consultation")],
        started_days_ago=900,
        ended_days_ago=300,
    ),
    DemoProject(
        unit="HLT-PUB",
        title="Wastewater surveillance for outbreaks",
        summary="Detect outbreaks a week earlier from wastewater samples.",
        sponsor_level="system",
        sponsor="Chief Public Health Officer",
        work_mode="dedicated",
        stage="scaling",
        facet="mission",
        risk=(2, 5, 5, "Lab capacity contract with two universities"),
        determinants=[
            tag("clarity", "enabler", "National preparedness plan names it"),
            tag("suitability", "enabler", "University labs already run the assays"),
        ],
        budget=1200000,
        fte=6,
        started_days_ago=700,
        experiments=[
            DemoExperiment(
                title="Weekly sampling in three cities",
                hypothesis="Wastewater signals lead clinical cases by 5-7 days",
                method="pilot",
                status="completed",
                result="supported",
                lessons="Signal led cases by 6 days on average; sampling logistics are the cost.",
                started_days_ago=650,
                ended_days_ago=400,
            )
        ],
        criteria=[
            DemoCriterion(
                "Population covered",
                "outcome",
                "percent",
                12,
                60,
                "increase",
                200,
                [(25, 300), (41, 40)],
            )
        ],
    ),
    DemoProject(
        unit="HLT-PUB",
        title="Vaccination reminders by text message",
        summary="Personalised reminders for childhood vaccinations.",
        sponsor_level="individual",
        sponsor="Public health nurse",
        work_mode="side_of_desk",
        stage="experiment",
        facet="enhancement",
        risk=(2, 2, 4, "Messages approved by the privacy office"),
        determinants=[tag("parity", "barrier", "No time set aside; done between clinics")],
        started_days_ago=120,
        experiments=[
            DemoExperiment(
                title="Reminder wording trial",
                hypothesis="A named-nurse message raises attendance",
                method="rct",
                status="completed",
                result="not_supported",
                lessons="Wording made no difference; timing (3 days before) did.",
                started_days_ago=110,
                ended_days_ago=50,
            )
        ],
    ),
    DemoProject(
        unit="TRN-RDS",
        title="Average-speed cameras on rural roads",
        summary="Section control on the ten deadliest rural roads.",
        sponsor_level="system",
        sponsor="Minister of Transport",
        work_mode="core_business",
        stage="scaling",
        facet="mission",
        risk=(3, 3, 5, "Signage and a public information campaign first"),
        determinants=[tag("parity", "enabler", "In the road safety strategy and its budget")],
        budget=3000000,
        fte=5,
        started_days_ago=800,
        experiments=[
            DemoExperiment(
                title="Two-road pilot",
                hypothesis="Section control cuts serious crashes by 30%",
                method="pilot",
                status="completed",
                result="supported",
                lessons="Crashes fell 41%; drivers accepted it once signs explained why.",
                started_days_ago=760,
                ended_days_ago=400,
                criteria=[
                    DemoCriterion(
                        "Serious crashes per year on pilot roads",
                        "outcome",
                        "crashes",
                        34,
                        24,
                        "decrease",
                        -380,
                        [(20, 400)],
                    )
                ],
            )
        ],
        criteria=[
            DemoCriterion(
                "Roads covered",
                "output",
                "roads",
                2,
                10,
                "increase",
                -20,
                [(6, 100)],
            )
        ],
    ),
    DemoProject(
        unit="TRN-RDS",
        title="Crowd-sourced pothole reports",
        summary="A reporting app for citizens and a repair queue for crews.",
        sponsor_level="organizational",
        sponsor="Director, Road Maintenance",
        work_mode="core_business",
        stage="experiment",
        facet="enhancement",
        risk=(2, 2, 3, "Reports triaged by a crew lead"),
        determinants=[tag("suitability", "barrier", "Crews have no tablets in the field")],
        started_days_ago=100,
        experiments=[
            DemoExperiment(
                title="App pilot in one district",
                hypothesis="Citizen reports shorten time to repair",
                method="pilot",
                status="running",
                started_days_ago=45,
                criteria=[
                    DemoCriterion(
                        "Days from report to repair",
                        "outcome",
                        "days",
                        21,
                        7,
                        "decrease",
                        90,
                        [(15, 10)],
                    )
                ],
            )
        ],
    ),
    DemoProject(
        unit="TRN-LIC",
        title="Digital driving licence",
        summary="A licence in the government wallet app.",
        sponsor_level="system",
        sponsor="Government CIO",
        work_mode="dedicated",
        stage="experiment",
        facet="adaptive",
        risk=(3, 4, 3, "Plastic card stays valid throughout"),
        determinants=[
            tag("clarity", "enabler", "Wallet programme sets the standards"),
            tag("normality", "barrier", "Police checks still expect a card"),
        ],
        budget=900000,
        fte=7,
        started_days_ago=330,
        experiments=[
            DemoExperiment(
                title="Roadside check prototype with police",
                hypothesis="Officers can verify a digital licence offline in 10 seconds",
                method="prototype",
                status="completed",
                result="inconclusive",
                lessons="Verification worked; the offline mode failed in two rural areas.",
                started_days_ago=200,
                ended_days_ago=150,
            )
        ],
    ),
    DemoProject(
        unit="TRN-LIC",
        title="Online theory test booking",
        summary="Book and reschedule theory tests online.",
        sponsor_level="organizational",
        sponsor="Head of Licensing",
        work_mode="core_business",
        stage="embedded",
        facet="enhancement",
        risk=(1, 1, 2, "Phone line kept"),
        determinants=[tag("normality", "enabler", "Now the default channel")],
        started_days_ago=1000,
        ended_days_ago=500,
    ),
    DemoProject(
        unit="CORP-HR",
        title="Innovation time for every team",
        summary="Four hours a month for improvement ideas, with a small fund.",
        sponsor_level="individual",
        sponsor="HR business partner",
        work_mode="side_of_desk",
        stage="idea",
        facet="adaptive",
        risk=None,
        determinants=[tag("parity", "barrier", "Managers fear falling behind on targets")],
    ),
    DemoProject(
        unit="CORP-HR",
        title="Skills-based internal mobility",
        summary="Match staff to short assignments by skill, not grade.",
        sponsor_level="individual",
        sponsor="Talent manager",
        work_mode="side_of_desk",
        stage="exploration",
        facet="adaptive",
        risk=(2, 3, 3, "Opt-in only"),
        determinants=[tag("clarity", "barrier", "Unclear whether unions must be consulted")],
        started_days_ago=70,
    ),
    DemoProject(
        unit="CORP-IT",
        title="Cloud migration of case management",
        summary="Move the shared case-management platform to the government cloud.",
        sponsor_level="organizational",
        sponsor="Chief Information Officer",
        work_mode="dedicated",
        stage="stopped",
        facet="enhancement",
        risk=(4, 4, 3, "Fallback to the data centre"),
        determinants=[tag("suitability", "barrier", "Legacy database not supported by the cloud")],
        budget=700000,
        fte=4,
        started_days_ago=600,
        ended_days_ago=250,
    ),
    DemoProject(
        unit="GOV-LAB",
        title="Service design academy",
        summary="Train 200 civil servants a year in service design.",
        sponsor_level="system",
        sponsor="Head of the Civil Service",
        work_mode="dedicated",
        stage="scaling",
        facet="adaptive",
        risk=(1, 3, 4, "Trainers from three departments"),
        determinants=[
            tag("normality", "enabler", "Counts towards promotion"),
            tag("parity", "enabler", "Funded from the central training budget"),
        ],
        budget=350000,
        fte=3,
        started_days_ago=540,
        criteria=[
            DemoCriterion(
                "Civil servants trained",
                "output",
                "people",
                0,
                200,
                "increase",
                45,
                [(80, 200), (150, 20)],
            )
        ],
    ),
    DemoProject(
        unit="GOV-LAB",
        title="Anticipatory policy on ageing",
        summary="Scenarios for public services in 2040.",
        sponsor_level="organizational",
        sponsor="Cabinet Office strategy director",
        work_mode="dedicated",
        stage="exploration",
        facet="anticipatory",
        risk=(2, 3, 5, "Scenarios reviewed by every department"),
        determinants=[tag("clarity", "barrier", "No department owns the long term")],
        started_days_ago=110,
        experiments=[
            DemoExperiment(
                title="Scenario workshop with three departments",
                hypothesis="Shared scenarios change at least one budget bid",
                method="other",
                status="proposed",
            )
        ],
    ),
]


@dataclass
class DemoSummary:
    units: int = 0
    projects: int = 0
    experiments: int = 0
    criteria: int = 0
    measurements: int = 0


def is_empty(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Unit)).one() == 0


def _on(today_: date, days_ago: int | None) -> date | None:
    return None if days_ago is None else today_ - timedelta(days=days_ago)


def _criteria(
    session: Session,
    actor: Actor,
    criteria: list[DemoCriterion],
    summary: DemoSummary,
    **owner: int,
) -> None:
    now = today()
    for spec in criteria:
        criterion = criteria_service.create(
            session=session,
            actor=actor,
            criterion_in=CriterionCreate(
                metric=spec.metric,
                kind=spec.kind,  # type: ignore[arg-type]
                unit_of_measure=spec.unit_of_measure,
                baseline=spec.baseline,
                target=spec.target,
                direction=spec.direction,  # type: ignore[arg-type]
                due_on=now + timedelta(days=spec.due_in_days),
            ),
            **owner,
        )
        summary.criteria += 1
        assert criterion.id is not None
        for value, days_ago in spec.measurements:
            criteria_service.add_measurement(
                session=session,
                actor=actor,
                criterion_id=criterion.id,
                measurement_in=MeasurementCreate(
                    value=value, measured_on=now - timedelta(days=days_ago)
                ),
            )
            summary.measurements += 1


def fill(*, engine: Engine, actor: Actor) -> DemoSummary:
    """Write the demonstration portfolio, all of it or (on any error) nothing."""
    summary = DemoSummary()
    now = today()
    with single_transaction(engine) as session:
        unit_ids: dict[str, int] = {}
        for code, name, kind, parent in UNITS:
            unit = unit_service.create(
                session=session,
                actor=actor,
                unit_in=UnitCreate.model_validate(
                    {
                        "code": code,
                        "name": name,
                        "kind": kind,
                        "parent_id": unit_ids[parent] if parent else None,
                    }
                ),
            )
            assert unit.id is not None
            unit_ids[code] = unit.id
            summary.units += 1
        for spec in PROJECTS:
            project = project_service.create(
                session=session,
                actor=actor,
                project_in=ProjectCreate.model_validate(
                    {
                        "unit_id": unit_ids[spec.unit],
                        "title": spec.title,
                        "summary": spec.summary,
                        "sponsor_level": spec.sponsor_level,
                        "sponsor": spec.sponsor,
                        "work_mode": spec.work_mode,
                        "stage": spec.stage,
                        "facet": spec.facet,
                        "risk": None
                        if spec.risk is None
                        else dict(
                            zip(
                                ("likelihood", "impact", "risk_of_not_innovating", "mitigation"),
                                spec.risk,
                                strict=True,
                            )
                        ),
                        "determinants": spec.determinants,
                        "budget": spec.budget,
                        "fte": spec.fte,
                        "started_on": _on(now, spec.started_days_ago),
                        "ended_on": _on(now, spec.ended_days_ago),
                    }
                ),
            )
            summary.projects += 1
            assert project.id is not None
            _criteria(session, actor, spec.criteria, summary, project_id=project.id)
            for experiment_spec in spec.experiments:
                experiment = experiment_service.create(
                    session=session,
                    actor=actor,
                    experiment_in=ExperimentCreate.model_validate(
                        {
                            "project_id": project.id,
                            "title": experiment_spec.title,
                            "hypothesis": experiment_spec.hypothesis,
                            "method": experiment_spec.method,
                            "status": experiment_spec.status,
                            "result": experiment_spec.result,
                            "lessons": experiment_spec.lessons,
                            "started_on": _on(now, experiment_spec.started_days_ago),
                            "ended_on": _on(now, experiment_spec.ended_days_ago),
                            "determinants": experiment_spec.determinants,
                        }
                    ),
                )
                summary.experiments += 1
                assert experiment.id is not None
                _criteria(
                    session, actor, experiment_spec.criteria, summary, experiment_id=experiment.id
                )
    return summary
