"""Shared fixtures: the gateway under test and helpers for its management API."""

import json
import os
import urllib.error
import urllib.request
import uuid

import pytest
from openai import OpenAI

URL = os.environ.get("AIHUB_E2E_URL", "")
KEY = os.environ.get("AIHUB_E2E_KEY", "")
MASTER = os.environ.get("AIHUB_E2E_MASTER", "")


def api(method, path, body=None, bearer=None):
    """Calls the gateway's management API; returns (status, JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if bearer:
        req.add_header("authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@pytest.fixture(scope="session", autouse=True)
def gateway():
    if not (URL and KEY and MASTER):
        pytest.fail("AIHUB_E2E_URL, AIHUB_E2E_KEY and AIHUB_E2E_MASTER must be set: run scripts/e2e-sdks.sh")
    return URL


@pytest.fixture()
def client():
    # No retries: each test sees exactly what the gateway answered.
    return OpenAI(base_url=URL + "/v1", api_key=KEY, max_retries=0, timeout=30)


@pytest.fixture()
def user():
    """A fresh user: returns (session token, api key)."""
    email = f"py-{uuid.uuid4().hex[:10]}@example.com"
    status, _ = api("POST", "/api/v1/admin/users", {"email": email, "password": "a long password"}, MASTER)
    assert status == 201
    status, login = api("POST", "/api/v1/auth/login", {"email": email, "password": "a long password"})
    assert status == 200
    status, created = api("POST", "/api/v1/auth/api-keys", {"name": "pytest"}, login["token"])
    assert status == 201
    return login["token"], created["key"]
