"""The call state machine: legal edges, terminal states and random sequences of transitions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from voicelane.domain.call import (
    ACTIVE,
    EVENT_FOR_STATUS,
    INITIAL,
    TERMINAL,
    TRANSITIONS,
    CallStatus,
    can_transition,
    check_transition,
    is_terminal,
)
from voicelane.domain.errors import IllegalTransition

S = CallStatus

# An oracle written from the rules in words, independent of the TRANSITIONS table:
# a call only moves forward (scheduled < queued < initiated < ringing < in_progress < ended)
# and a queued call is initiated before it rings or is answered; it
# may be canceled only before it is answered, completes only after it was answered, is busy
# or unanswered only while it is being placed, reaches voicemail only once it rings, and may
# fail at any time before it ends.
_RANK = {S.SCHEDULED: 0, S.QUEUED: 1, S.INITIATED: 2, S.RINGING: 3, S.IN_PROGRESS: 4}


def oracle_allows(current: CallStatus, target: CallStatus) -> bool:
    if current in TERMINAL:
        return False
    if target == S.QUEUED:
        return current == S.SCHEDULED
    if target in _RANK:
        if current in (S.SCHEDULED, S.QUEUED):  # a queued call is placed (initiated) first
            return target == S.INITIATED and current == S.QUEUED
        return _RANK[target] > _RANK[current]
    if target == S.FAILED:
        return True
    if target == S.CANCELED:
        return current in (S.SCHEDULED, S.QUEUED, S.INITIATED, S.RINGING)
    if target == S.COMPLETED:
        return current == S.IN_PROGRESS
    if target in (S.BUSY, S.NO_ANSWER):
        return current in (S.INITIATED, S.RINGING)
    if target == S.VOICEMAIL:
        return current in (S.RINGING, S.IN_PROGRESS)
    raise AssertionError(target)


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_pair_matches_the_rules(current: CallStatus, target: CallStatus) -> None:
    assert can_transition(current, target) == oracle_allows(current, target)
    if oracle_allows(current, target):
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition) as info:
            check_transition(current, target)
        assert info.value.code == "illegal_transition"
        assert info.value.details == {"from": current.value, "to": target.value}


def test_terminal_statuses_have_no_way_out_and_are_not_active() -> None:
    for status in TERMINAL:
        assert TRANSITIONS[status] == frozenset()
        assert is_terminal(status)
        assert status not in ACTIVE
    assert S.SCHEDULED not in ACTIVE  # a scheduled call does not hold a concurrency slot


def test_every_status_has_an_event_and_every_non_initial_status_is_reachable() -> None:
    assert set(EVENT_FOR_STATUS) == set(S)
    reachable = {t for targets in TRANSITIONS.values() for t in targets}
    assert set(S) - INITIAL <= reachable


class CallMachine(RuleBasedStateMachine):
    """Random requests against a call: every illegal one is refused, the status stays legal."""

    def __init__(self) -> None:
        super().__init__()
        self.status = S.QUEUED
        self.history = [S.QUEUED]

    @rule(wanted=st.sampled_from(list(S)))
    def request(self, wanted: CallStatus) -> None:
        target = wanted
        legal = oracle_allows(self.status, target)
        try:
            check_transition(self.status, target)
        except IllegalTransition:
            assert not legal, f"{self.status} -> {target} was refused but is legal"
            return
        assert legal, f"{self.status} -> {target} was accepted but is illegal"
        self.status = target
        self.history.append(target)

    @invariant()
    def history_is_a_path_of_the_machine(self) -> None:
        for before, after in zip(self.history, self.history[1:], strict=False):
            assert after in TRANSITIONS[before]
        # at most one terminal status, and only at the end
        assert all(not is_terminal(s) for s in self.history[:-1])


CallMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=12, deadline=None)
TestCallMachine = CallMachine.TestCase


@given(st.lists(st.sampled_from(list(S)), max_size=20), st.sampled_from(sorted(INITIAL)))
def test_applying_only_accepted_transitions_never_leaves_the_machine(
    requests: list[CallStatus], start: CallStatus
) -> None:
    status = start
    for target in requests:
        if can_transition(status, target):
            status = target
        else:
            with pytest.raises(IllegalTransition):
                check_transition(status, target)
    assert status in set(S)
    assert status in INITIAL or any(status in TRANSITIONS[s] for s in S)
