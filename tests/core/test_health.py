from competition import create_app


def test_healthz_reports_ok_with_a_reachable_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(instance_path):
    app = create_app(
        {"APP_ENV": "testing", "INSTANCE_PATH": instance_path, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "error"}
