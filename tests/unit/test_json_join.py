"""Ready-made JSON joined into a document (`json_pages.json_object`, `model_json`)."""

from datetime import date

from pydantic import BaseModel

from app.api.json_pages import json_object, model_json


class Inner(BaseModel):
    code: str


class Report(BaseModel):
    title: str
    share: float | None
    rows: list[Inner]
    as_of: date
    note: str | None


def test_json_object_joins_members_in_order():
    members = [("items", b'[{"id":1}]'), ("next_cursor", b"null"), ('na\u00efve "k"', b"2")]
    assert (
        json_object(members)
        == '{"items":[{"id":1}],"next_cursor":null,"na\u00efve \\"k\\"":2}'.encode()
    )


def test_json_object_of_no_members_is_empty():
    assert json_object([]) == b"{}"


def test_model_json_equals_model_dump_json_with_ready_field_in_the_middle():
    report = Report(
        title="Sp\u00e6t \u00bd",
        share=1 / 3,
        rows=[Inner(code="A")],
        as_of=date(2026, 3, 1),
        note=None,
    )
    ready = {"rows": b'[{"code":"A"}]'}
    empty = report.model_copy(update={"rows": []})
    assert model_json(empty, ready) == report.model_dump_json().encode()
    assert (
        model_json(empty, ready)
        == (
            '{"title":"Sp\u00e6t \u00bd","share":0.3333333333333333,"rows":[{"code":"A"}],'
            '"as_of":"2026-03-01","note":null}'
        ).encode()
    )


def test_model_json_with_the_ready_field_last_and_first():
    report = Report(title="t", share=0.5, rows=[], as_of=date(2026, 1, 2), note="n")
    assert model_json(report, {"note": b'"x"'}) == (
        b'{"title":"t","share":0.5,"rows":[],"as_of":"2026-01-02","note":"x"}'
    )
    assert model_json(report, {"title": b'"y"'}).startswith(b'{"title":"y","share":0.5,')
