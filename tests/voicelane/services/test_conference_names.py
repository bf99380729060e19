"""Conferences by name over DynamoDB (moto): a conference holds its name in its app until it
ends, two first callers racing for a name make one conference, a name is free again once its
conference ended, and the gateway sends a routed caller whose conference lives on another
node over a signed bridge to that node (which only a token it signed opens)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from voicelane.adapters.dynamo.conferences import DynamoConferenceRepository
from voicelane.container import Container
from voicelane.contracts.conferences import CreateConferenceRequest
from voicelane.domain.conference import Conference, ConferenceEvent, ConferenceSettings
from voicelane.domain.conference_bridge import is_bridge_user
from voicelane.domain.errors import Conflict, Unauthenticated
from voicelane.domain.routing import RoutingRule
from voicelane.services.conferences import ConferenceService

from tests.conftest import Tenant
from tests.voicelane.api.api_helpers import e164


class RacingRepository(DynamoConferenceRepository):
    """The real repository, with the race made certain: every caller's first name lookup
    waits until all ``racers`` have looked (so each of them finds no conference and goes on
    to create one). The creating transactions reach moto one at a time, as DynamoDB
    serializes conditional writes on one item (moto's own transaction is not atomic across
    threads, so two at once could interleave there in a way DynamoDB never does)."""

    def __init__(self, container: Container, racers: int) -> None:
        super().__init__(container.table)
        self.looked = threading.Barrier(racers, timeout=10)
        self.first_look: set[int] = set()
        self.serial = threading.Lock()
        self.creates = 0

    def by_name(self, app_id: str, name: str) -> Conference | None:
        found = super().by_name(app_id, name)
        me = threading.get_ident()
        if me not in self.first_look:
            self.first_look.add(me)
            self.looked.wait()
        return found

    def create(self, conference: Conference, event: ConferenceEvent) -> None:
        with self.serial:
            self.creates += 1
            super().create(conference, event)


def test_two_first_callers_at_once_make_one_conference(
        container: Container, new_tenant: Callable[..., Tenant]) -> None:
    app = new_tenant().app
    repo = RacingRepository(container, racers=2)
    service = ConferenceService(repo)
    settings = ConferenceSettings(max_participants=4, record=True)
    with ThreadPoolExecutor(2) as pool:
        opened = list(pool.map(lambda _: service.open_named(app.app_id, "standup", settings),
                               range(2)))
    assert repo.creates == 2  # both tried: the race did happen
    (first, first_created), (second, second_created) = opened
    assert first.conference_id == second.conference_id
    assert sorted([first_created, second_created]) == [False, True]
    listed, _ = container.conferences.list_page(app, 10, None)
    assert [c.conference_id for c in listed] == [first.conference_id]
    stored = listed[0]
    assert (stored.name, stored.max_participants, stored.record, stored.status) == (
        "standup", 4, True, "idle")
    assert [e.type for e in container.conferences.repo.events(first.conference_id)] == [
        "conference.created"]


def test_a_name_is_free_again_once_its_conference_ended(
        container: Container, new_tenant: Callable[..., Tenant]) -> None:
    app = new_tenant().app
    service = container.conferences
    old, created = service.open_named(app.app_id, "standup", ConferenceSettings())
    assert created
    again, created = service.open_named(app.app_id, "standup", ConferenceSettings(record=True))
    assert (again.conference_id, created, again.record) == (old.conference_id, False, False)
    with pytest.raises(Conflict) as taken:  # the API's create refuses a name in use
        service.create(app, CreateConferenceRequest(name="standup"))
    assert taken.value.code == "conference_name_taken"
    assert taken.value.details == {"conference_id": old.conference_id}
    other_app = new_tenant().app  # names are per app
    assert service.open_named(other_app.app_id, "standup", ConferenceSettings())[1]

    service.end(old.conference_id, "ended_by_api")
    assert service.repo.by_name(app.app_id, "standup") is None  # released with the end
    new, created = service.open_named(app.app_id, "standup", ConferenceSettings())
    assert created and new.conference_id != old.conference_id
    assert service.get(app, old.conference_id).status == "ended"
    assert service.repo.by_name(app.app_id, "standup") == new


def _routed_number(container: Container, tenant: Tenant, name: str) -> str:
    number = e164()
    rule = RoutingRule.model_validate({"name": "conf", "action": {
        "type": "conference", "conference": name, "max_participants": 2}})
    container.numbers.create(tenant.app, number, None, routing=[rule])
    return number


def test_the_gateway_opens_the_rules_conference_here_or_bridges_to_its_node(
        container: Container, new_tenant: Callable[..., Tenant]) -> None:
    tenant = new_tenant(max_concurrent_calls=10)
    number = container.number_repo.get(_routed_number(container, tenant, "support"))
    assert number is not None
    gateway = container.media_gateway
    owner = f"node-a-{tenant.app.app_id[-6:]}"
    first = gateway.create_inbound(number, "+14155550111", {}, owner)
    route = gateway.open_conference(first.call_id, owner)
    conference = route.conference
    assert route.created and route.bridge_uri is None
    assert conference.name == "support" and conference.max_participants == 2
    gateway.join_conference(conference.conference_id, first.call_id, owner,
                            moderator=False, muted=False)

    elsewhere = gateway.create_inbound(number, "+14155550112", {}, "node-b")
    with pytest.raises(Conflict) as refused:  # its node is not registered: no way there
        gateway.open_conference(elsewhere.call_id, "node-b")
    assert refused.value.code == "conference_on_other_node"
    assert refused.value.details == {"conference_node": owner}

    gateway.register_node(owner, "http://127.0.0.1:9", 10, "127.0.0.1:5999")
    try:
        route = gateway.open_conference(elsewhere.call_id, "node-b")
        assert route.conference.conference_id == conference.conference_id and not route.created
        assert route.bridge_uri is not None
        user, host = route.bridge_uri.removeprefix("sip:").split("@")
        assert host == "127.0.0.1:5999" and is_bridge_user(user)
        seated, call = gateway.seat_bridge(user, owner)  # what the owner checks
        assert (seated.conference_id, call.call_id) == (conference.conference_id,
                                                        elsewhere.call_id)
        with pytest.raises(Conflict) as wrong_node:
            gateway.seat_bridge(user, "node-b")
        assert wrong_node.value.code == "conference_on_other_node"
        forged = user[:-4] + ("AAAA" if not user.endswith("AAAA") else "BBBB")
        for bad in (forged, "confbridge-", "confbridge-e30.e30"):
            with pytest.raises(Unauthenticated):
                gateway.seat_bridge(bad, owner)
        gateway.join_conference(conference.conference_id, elsewhere.call_id, owner,
                                moderator=False, muted=False)
        third = gateway.create_inbound(number, "+14155550114", {}, owner)
        with pytest.raises(Conflict) as full:
            gateway.open_conference(third.call_id, "node-c")
        assert full.value.code == "conference_full"
    finally:
        gateway.deregister_node(owner)
