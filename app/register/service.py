"""The open register of results: published experiments, read without a key.

Only what `RegisterExperiment` names ever leaves the database: the query selects those
columns and no others. An experiment is listed when it is published and neither it, its
project nor its unit is archived.
"""

from datetime import date
from typing import Any
from xml.etree import ElementTree

from sqlalchemy import Select, false, func, select
from sqlmodel import Session, col

from app.core import filters
from app.core.db import as_dicts
from app.core.pagination import PageParams, paginate, split_page
from app.experiments import rigour
from app.experiments.models import Experiment, ExperimentResult
from app.projects.models import Project
from app.units.models import Unit
from app.units.service import in_subtree

EXPERIMENTS = Experiment.__table__  # type: ignore[attr-defined]
FEED_ENTRIES = 50
ATOM = "http://www.w3.org/2005/Atom"


def _columns() -> list[Any]:
    """The public fields, in order, and nothing else."""
    return [
        col(Experiment.id),
        col(Experiment.title),
        col(Experiment.hypothesis),
        col(Experiment.method),
        col(Experiment.comparison),
        rigour.score(EXPERIMENTS).label("rigour"),
        col(Experiment.status),
        col(Experiment.result),
        col(Experiment.lessons),
        col(Experiment.started_on),
        col(Experiment.ended_on),
        col(Experiment.published_on),
        col(Experiment.publication_url),
        col(Unit.code).label("unit_code"),
        col(Unit.name).label("unit_name"),
    ]


def published(
    *,
    unit_code: str | None = None,
    result: list[ExperimentResult] | None = None,
    published_since: date | None = None,
) -> Select[Any]:
    """The listed experiments with the filters applied (not ordered)."""
    statement = (
        select(*_columns())
        .join(Project, col(Project.id) == col(Experiment.project_id))
        .join(Unit, col(Unit.id) == col(Experiment.unit_id))
        .where(
            col(Experiment.published_on).is_not(None),
            col(Experiment.archived) == false(),
            col(Project.archived) == false(),
            col(Unit.archived) == false(),
        )
    )
    if unit_code is not None:
        # The unit and its whole subtree, as `unit_id` on the private lists; an unknown code
        # matches nothing.
        root = select(col(Unit.id)).where(func.lower(Unit.code) == unit_code.lower())
        root_id = root.scalar_subquery()
        statement = statement.where(
            in_subtree(Experiment.unit_id, root_id, "register_scope")  # type: ignore[arg-type]
        )
    return filters.narrowed(
        statement,
        [
            filters.any_of(col(Experiment.result), result),
            filters.at_or_after(col(Experiment.published_on), published_since),
        ],
    )


def list_page(
    *, session: Session, params: PageParams, **filters: Any
) -> tuple[list[dict[str, Any]], str | None]:
    statement = paginate(published(**filters), Experiment.id, params)
    rows, cursor = split_page(list(session.execute(statement)), params)
    return as_dicts(rows), cursor


def newest(*, session: Session, **filters: Any) -> list[dict[str, Any]]:
    """The FEED_ENTRIES most recently published, newest first (then the highest id)."""
    statement = (
        published(**filters)
        .order_by(col(Experiment.published_on).desc(), col(Experiment.id).desc())
        .limit(FEED_ENTRIES)
    )
    return as_dicts(session.execute(statement).all())


def _text(parent: ElementTree.Element, tag: str, text: str, **attributes: str) -> None:
    element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    element.text = text


def _summary(item: dict[str, Any]) -> str:
    result = item["result"] or item["status"]
    lines = [
        f"Result: {str(result).replace('_', ' ')}.",
        f"Hypothesis: {item['hypothesis']}",
        f"Method: {item['method']}; comparison: {str(item['comparison']).replace('_', ' ')}; "
        f"rigour {item['rigour']} of 5.",
    ]
    if item["lessons"]:
        lines.append(f"Lessons: {item['lessons']}")
    return "\n".join(lines)


def atom_feed(*, items: list[dict[str, Any]], feed_url: str, site_url: str) -> bytes:
    """An Atom 1.0 document (RFC 4287) of `items`, newest first. Built as an element tree,
    so every title and lesson is escaped by the serializer."""
    ElementTree.register_namespace("", ATOM)
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", feed_url)
    _text(feed, "title", "Open register of experiment results")
    _text(
        feed,
        "subtitle",
        "Published experiments, positive, negative and inconclusive alike.",
    )
    # An entry's `updated` is its publication date: the register's only public timestamp.
    latest = max((item["published_on"] for item in items), default=date(1970, 1, 1))
    _text(feed, "updated", f"{latest.isoformat()}T00:00:00Z")
    ElementTree.SubElement(
        feed, f"{{{ATOM}}}link", {"rel": "self", "href": feed_url, "type": "application/atom+xml"}
    )
    ElementTree.SubElement(feed, f"{{{ATOM}}}link", {"rel": "alternate", "href": site_url})
    author = ElementTree.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "Innovation portfolio")
    for item in items:
        entry = ElementTree.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"{site_url}#experiment-{item['id']}")
        _text(entry, "title", item["title"])
        stamp = f"{item['published_on'].isoformat()}T00:00:00Z"
        _text(entry, "published", stamp)
        _text(entry, "updated", stamp)
        entry_author = ElementTree.SubElement(entry, f"{{{ATOM}}}author")
        _text(entry_author, "name", f"{item['unit_name']} ({item['unit_code']})")
        if item["publication_url"]:
            ElementTree.SubElement(
                entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": item["publication_url"]}
            )
        if item["result"]:
            ElementTree.SubElement(entry, f"{{{ATOM}}}category", {"term": item["result"]})
        _text(entry, "content", _summary(item), type="text")
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
