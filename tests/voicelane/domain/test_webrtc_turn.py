"""TURN REST API credentials (the shared-secret scheme coturn's use-auth-secret checks) and
the client answer URL, pure."""

from __future__ import annotations

import base64
import hashlib
import hmac

from voicelane.domain.webrtc import IceServer, client_answer_base, turn_credentials

SERVERS = [IceServer(urls=["stun:stun.example.com:3478"]),
           IceServer(urls=["turn:turn.example.com:3478?transport=udp",
                           "turns:turn.example.com:443?transport=tcp"]),
           IceServer(urls=["turn:static.example.com"], username="u", credential="p")]


def test_turn_entries_without_credentials_get_short_lived_ones() -> None:
    secret = "a-shared-turn-secret"
    out = turn_credentials(SERVERS, secret, "alice", 600, now=1_700_000_000.7)
    stun, turn, static = out
    assert stun.username is None and stun.credential is None
    assert turn.username == "1700000600:alice"
    expected = base64.b64encode(hmac.new(secret.encode(), b"1700000600:alice",
                                         hashlib.sha1).digest()).decode()
    assert turn.credential == expected
    assert (static.username, static.credential) == ("u", "p")  # static ones stay
    assert SERVERS[1].username is None  # the settings' list is not changed


def test_without_a_secret_nothing_changes() -> None:
    assert turn_credentials(SERVERS, None, "alice", 600, now=0) == SERVERS


def test_the_client_answer_base_follows_the_media_url() -> None:
    assert client_answer_base("wss://media.example.com/v1/media") == \
        "https://media.example.com/v1/media/clients"
