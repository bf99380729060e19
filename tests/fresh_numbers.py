"""Fresh phone numbers for tests that register numbers in the session's one moto."""

from __future__ import annotations

import itertools
import random

# One sequence per test process, from a random start: numbers drawn at random collided
# ("409 number_taken") once the suite had registered enough of them in one moto.
_subscriber = itertools.count(random.randrange(10**6, 9 * 10**6))


def e164(country: str = "1415") -> str:
    """A fresh E.164 number: never the same twice in one test process."""
    return f"+{country}{next(_subscriber) % 9_000_000 + 1_000_000}"
