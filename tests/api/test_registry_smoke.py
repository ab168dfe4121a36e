from tests.builders import create_criterion, create_experiment, create_project, create_unit


def test_project_experiment_criterion_measurement_round_trip(admin):
    unit = create_unit(admin, "TAX")
    project = create_project(
        admin, unit["id"], risk={"likelihood": 3, "impact": 5, "risk_of_not_innovating": 4}
    )
    assert project["risk"]["score"] == 15
    assert project["risk"]["band"] == "high"
    experiment = create_experiment(admin, project["id"])
    assert experiment["unit_id"] == unit["id"]
    criterion = create_criterion(admin, "projects", project["id"])
    assert criterion["status"] == "pending"
    response = admin.post(
        f"/api/v1/criteria/{criterion['id']}/measurements",
        json={"value": 21, "measured_on": "2026-01-01"},
    )
    assert response.status_code == 201
    got = admin.get(f"/api/v1/criteria/{criterion['id']}").json()
    assert got["latest_value"] == 21
    assert got["status"] == "met"
