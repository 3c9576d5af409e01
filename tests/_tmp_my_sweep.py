import pytest
from tests.test_route_sweep import ROUTES, VISITORS, LOGIN, _sign_in, world  # noqa: F401


@pytest.mark.parametrize("visitor", VISITORS)
def test_mine(app, world, visitor):
    people, values = world
    failures = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("rounds.", "institutions.", "admin.")):
            continue
        client = app.test_client()
        if visitor != "anonymous":
            _sign_in(client, people[visitor])
        method = "GET" if "GET" in rule.methods else "POST"
        url = rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]
        response = client.open(url, method=method)
        expected = ROUTES[rule.endpoint][visitor]
        if expected == LOGIN:
            ok = response.status_code == 302 and "/account/login" in response.headers["Location"]
        else:
            ok = response.status_code in expected
        if not ok:
            failures.append(f"{method} {url} as {visitor}: {response.status_code}, expected {expected}")
    assert failures == []
