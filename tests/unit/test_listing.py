"""A list's one field specification (`app.api.listing`): its fields must be the item
model's, and its CSV cells come from the item's JSON form."""

import pytest

from app.api import listing
from app.experiments.service import LIST as EXPERIMENTS
from app.projects.models import Project, ProjectsPage
from app.projects.service import LIST as PROJECTS

TABLE = Project.__table__  # type: ignore[attr-defined]


def test_a_specification_missing_a_public_field_is_refused():
    fields = [f for f in PROJECTS.fields if "risk" not in f.names]
    with pytest.raises(ValueError, match="risk"):
        listing.ListSpec(TABLE, ProjectsPage, fields, "projects.csv")


def test_json_keys_follow_the_item_model_and_csv_columns_the_specification():
    assert PROJECTS.csv_columns[:3] == ["id", "title", "summary"]
    assert PROJECTS.csv_columns[-4:] == ["created_at", "updated_at", "version", "archived"]
    assert EXPERIMENTS.csv_columns[18:20] == ["rigour", "rigour_features"]
    assert "risk_likelihood AS" not in str(PROJECTS.json_page.item)
    assert str(PROJECTS.json_page.item).startswith("(SELECT x FROM (SELECT item.title AS title,")


def test_column_kinds_come_from_the_column_type():
    kinds = {f.name: f.kind(TABLE) for f in PROJECTS.fields if isinstance(f, listing.Column)}
    assert (kinds["budget"], kinds["created_at"], kinds["title"]) == ("money", "timestamp", "plain")


def test_nested_and_tag_cells():
    risk = next(f for f in PROJECTS.fields if isinstance(f, listing.Nested))
    tags = next(f for f in PROJECTS.fields if isinstance(f, listing.Tags))
    item = {
        "risk": {
            "likelihood": 3,
            "impact": 4,
            "risk_of_not_innovating": 5,
            "mitigation": "m",
            "score": 12,
            "band": "high",
        },
        "determinants": [{"determinant": "parity", "effect": "barrier", "note": None}],
    }
    assert risk.cells(item) == {
        "risk_likelihood": 3,
        "risk_impact": 4,
        "risk_of_not_innovating": 5,
        "risk_mitigation": "m",
        "risk_score": 12,
        "risk_band": "high",
    }
    assert risk.cells({"risk": None}) == dict.fromkeys(risk.csv_columns)
    assert tags.cells(item) == {"determinant_parity": "barrier", "determinant_parity_note": None}
