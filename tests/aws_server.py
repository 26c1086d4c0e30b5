"""moto in server mode for the tests: real HTTP on 127.0.0.1, a free port, fake credentials.

Use the fixture in a test module (or from a conftest)::

    from tests.aws_server import moto_server  # noqa: F401  (a pytest fixture)

    def test_something(moto_server: str) -> None:
        ec2 = boto3.client("ec2", endpoint_url=moto_server, region_name="us-east-1")

One server runs per test process (started on first use, stopped at exit); each
test that asks for ``moto_server`` gets an emptied server and fake AWS
credentials in its environment (restored afterwards), so no test can reach real
AWS or see another test's resources. For state shared by a whole module, use
:func:`start_moto_server` and :func:`fake_aws_env` in a module-scoped fixture.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import urllib.request
from collections.abc import Iterator

import pytest

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account

_lock = threading.Lock()
_server: object | None = None
_url: str | None = None


def fake_aws_env(region: str = REGION) -> dict[str, str]:
    """Environment variables that point boto3 at fake credentials and away from the user's files."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def start_moto_server() -> str:
    """The endpoint URL of this process's moto server, starting it on first use."""
    global _server, _url
    with _lock:
        if _url is None:
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines in test output
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            _server, _url = server, f"http://{host}:{port}"
            atexit.register(server.stop)
        return _url


def reset_moto_server(url: str) -> None:
    """Forget every resource of every service (moto's reset API)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The endpoint URL of an empty moto server, with fake credentials in the environment."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_PROFILE", raising=False)
    for key, value in fake_aws_env().items():
        monkeypatch.setenv(key, value)
    url = start_moto_server()
    reset_moto_server(url)
    yield url
