"""The rules the committed spec keeps so that generated clients get exact types (README,
"Contract rules for response models"). Each rule reads `openapi/openapi.json`, which
`tests/api/test_contract.py` keeps equal to the app's own document."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
REF = "#/components/schemas/"


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in SPEC["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def refs(node: Any) -> Iterator[str]:
    """Every schema name referenced anywhere under `node`."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith(REF):
            yield ref.removeprefix(REF)
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def reachable(names: set[str]) -> set[str]:
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(refs(SCHEMAS[name]))
    return seen


def success_schemas() -> set[str]:
    """Schemas of 2xx response bodies, and every schema they refer to."""
    names = {
        name
        for _method, _path, operation in operations()
        for code, response in operation["responses"].items()
        if code.startswith("2")
        for name in refs(response.get("content", {}))
    }
    return reachable(names)


def object_schemas(name: str, schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The schema and any object schema nested in it without a `$ref`."""
    if isinstance(schema, dict):
        if "properties" in schema:
            yield name, schema
        for key, value in schema.items():
            if isinstance(value, dict):
                yield from object_schemas(f"{name}.{key}", value)
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    yield from object_schemas(f"{name}.{key}[{index}]", item)


def test_the_spec_is_valid_openapi_3_1():
    assert SPEC["openapi"].startswith("3.1")
    validate(SPEC)  # raises on the first violation of the OpenAPI 3.1 schema


def test_every_field_of_a_response_is_required():
    """`ResponseModel` (app/core/contract.py) makes defaults required in responses; a
    response model that does not inherit it fails here, naming its optional fields."""
    optional = {
        f"{where}.{field}"
        for name in success_schemas()
        for where, schema in object_schemas(name, SCHEMAS[name])
        for field in schema["properties"]
        if field not in schema.get("required", [])
    }
    assert optional == set()


def test_problems_always_carry_type_title_status_detail_and_instance():
    problem = SCHEMAS["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail", "instance"]
    assert "created_id" in problem["properties"]


def test_operation_ids_are_unique_snake_case_names_without_a_tag_prefix():
    ids = [operation["operationId"] for _method, _path, operation in operations()]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not re.fullmatch(r"[a-z][a-z0-9_]*", i)] == []
    assert "create_unit" in ids and "spread_report" in ids


def test_every_operation_has_a_summary_a_description_and_declared_tags():
    declared = {tag["name"]: tag.get("description") for tag in SPEC["tags"]}
    assert all(declared.values()), declared
    for method, path, operation in operations():
        assert operation.get("summary") and operation.get("description"), (method, path)
        assert operation["tags"] and set(operation["tags"]) <= set(declared), (method, path)


def test_header_parameters_are_spelled_as_on_the_wire():
    headers = {
        parameter["name"]
        for _method, _path, operation in operations()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header"
    }
    assert headers == {"If-Match", "If-None-Match", "Idempotency-Key"}


def test_every_enum_says_what_its_values_mean():
    def enums(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            if "enum" in node:
                yield where, node
            for key, value in node.items():
                yield from enums(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from enums(value, f"{where}[{index}]")

    undescribed = [where for where, node in enums(SPEC, "") if not node.get("description")]
    assert undescribed == []


def test_every_response_declares_its_headers():
    headers = SPEC["components"]["headers"]
    assert headers["X-Request-ID"]["required"] is True
    for method, path, operation in operations():
        for code, response in operation["responses"].items():
            declared = response.get("headers", {})
            assert "X-Request-ID" in declared, (method, path, code)
            if code in ("409", "429", "503"):
                assert "Retry-After" in declared, (method, path, code)
    # Every report answers with an ETag, those with a CSV representation too.
    report_paths = [path for path in SPEC["paths"] if path.startswith("/api/v1/reports/")]
    assert len(report_paths) == 8
    for path in report_paths:
        reports = SPEC["paths"][path]["get"]["responses"]
        assert {"ETag", "X-Request-ID"} <= set(reports["200"]["headers"]), path
        assert {"ETag", "X-Request-ID"} <= set(reports["304"]["headers"]), path
    project = SPEC["paths"]["/api/v1/projects/{project_id}"]
    for method in ("get", "patch", "delete"):
        assert "ETag" in project[method]["responses"]["200"]["headers"], method
    created = SPEC["paths"]["/api/v1/projects"]["post"]["responses"]["201"]["headers"]
    assert {"ETag", "Idempotent-Replayed"} <= set(created)


def test_every_success_body_list_pages_and_keys_included_has_an_example():
    bodies = {
        name
        for _method, _path, operation in operations()
        for code, response in operation["responses"].items()
        if code.startswith("2")
        for name in refs(response.get("content", {}))
    }
    assert {name for name in SCHEMAS if name.endswith("Page")} <= bodies
    assert sorted(name for name in bodies if not SCHEMAS[name].get("examples")) == []
    assert SCHEMAS["ApiKeyPublic"]["examples"] and SCHEMAS["ApiKeyCreated"]["examples"]
    key = next(
        parameter
        for parameter in SPEC["paths"]["/api/v1/projects"]["post"]["parameters"]
        if parameter["name"] == "Idempotency-Key"
    )
    assert key["schema"]["examples"]


def test_info_names_a_contact_and_the_servers():
    assert SPEC["info"]["contact"]["name"]
    assert [server["url"] for server in SPEC["servers"]] == ["/", "http://127.0.0.1:8000"]


def test_money_is_a_decimal_string_with_pattern_and_bounds_in_responses():
    budget = SCHEMAS["ProjectPublic"]["properties"]["budget"]["anyOf"]
    assert budget[1] == {"type": "null"}
    assert budget[0]["type"] == "string"
    pattern = re.compile(budget[0]["pattern"])
    # numeric(14, 2): 12 digits before the point, exactly 2 after.
    assert pattern.match("0.00") and pattern.match("999999999999.99")
    assert not any(
        pattern.match(text) for text in ("1000000000000.00", "-1.00", "1.5", "01.00", "1e3")
    )
    assert "999999999999.99" in budget[0]["description"]
    fte = SCHEMAS["ProjectPublic"]["properties"]["fte"]["anyOf"][0]
    assert re.match(fte["pattern"], "999999.99") and not re.match(fte["pattern"], "1000000.00")


def test_typed_where_it_was_untyped():
    changes = SCHEMAS["HistoryPublic"]["properties"]["changes"]
    assert changes["additionalProperties"] == {"$ref": REF + "FieldChange"}
    assert SCHEMAS["FieldChange"]["required"] == ["old", "new"]
    step = SCHEMAS["FunnelStep"]["properties"]
    assert step["from_stage"]["$ref"] == step["to_stage"]["$ref"] == REF + "Stage"
