"""Property-based fuzzing of the WHOLE HTTP API against its OpenAPI schema.

Every operation of ``/openapi.json`` (registry, matching inputs, runs, timetable,
sessions, nodes, tokens, reports, health, consoles) gets generated requests, valid
and invalid, with the admin key: no answer may be a 5xx, and every answer must
match the documented status codes, content types and schemas. The CSV imports are
fuzzed in ``test_limits`` (a ``text/csv`` body is beyond JSON Schema), the
WebSocket in ``tests/hub/signalling/test_fuzz_signal``; the endless live stream
of the ops dashboard is left to its own tests.

Bounded for CI: derandomized, a few examples per operation, no deadline. The hub
object is created without connecting MQTT: routes that must publish answer 503
(documented), which is also what a hub with its broker down answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from broker.localstack import RedisServer
from hub.api import create_app
from hub.config import HubConfig
from hub.core import HubCore
from hub.ledgerfeed import LedgerFeed
from hub.store import Store
from protocols.ids import now_ms
from tests.hub.api.conftest import AUTH
from tests.hub.hubkit import ADMIN_KEY

CORE = HubCore(HubConfig(admin_key=ADMIN_KEY, redis_url="redis://127.0.0.1:1/0"))
schema = (
    schemathesis.openapi.from_asgi("/openapi.json", create_app(CORE))
    .exclude(path_regex=r"/import$")
    # an endless server-sent event stream: each case would wait for its timeout
    .exclude(path_regex=r"^/api/ops/stream$")
)


@pytest.fixture(scope="module")
def _redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    # one Redis for the ~45 operations: a server per operation would double the time
    server = RedisServer(tmp_path_factory.mktemp("fuzz") / "redis").start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _store(_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    CORE.store = Store.from_url(_redis.url)
    # the deck store shares the hub's Redis client and keeps its files in a folder
    CORE.decks.redis = CORE.store.redis
    CORE.decks.root = tmp_path_factory.mktemp("decks")
    CORE.decks.pages_dir = CORE.decks.root / "pages"
    CORE.ledger_feed = LedgerFeed(CORE.store.redis, clock=now_ms, timeout_s=30.0)
    yield


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_route_answers_as_documented(case: Any) -> None:
    # every check but "schema-valid data is accepted": a valid-looking session
    # naming an unregistered lead, or an offer slot that is no weekday, is refused
    # by rules JSON Schema cannot state
    case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])
