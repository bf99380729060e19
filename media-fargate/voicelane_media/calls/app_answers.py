"""Commands in webhook answers, on the node: at the events where a call waits for its app, ask
(through the gateway, with a hard deadline), then run the answer's commands in order through
the same handlers as the REST actions, or the number's fallback.

In order means: each command starts when the one before it is done (``answer``: the call is
up; ``speak``/``play``: the audio has played); the last one is not waited for (a gather's
result is its own event, answered in turn). A command the call's state refuses (the REST API's
409 codes) stops the list with ``call.command.failed``. An answer that does not come in time,
or fails validation, is replaced by the fallback: the number's fallback URL (asked the same
way), else its spoken message and a hangup (or transfer). The caller never hears silence.
"""

from __future__ import annotations

import logging
from typing import Any

from voicelane.domain.call_control import EARLY_MEDIA, PRE_ANSWER, AppAnswer, CommandFallback

from .call import LiveCall
from .commands import CommandError, start
from .manager import CallManager
from .ports import ControlPort

log = logging.getLogger(__name__)


class AppCommands:
    """The node's :class:`~voicelane_media.calls.placement.AppCommandsHook`."""

    def __init__(self, manager: CallManager, control: ControlPort) -> None:
        self.manager = manager
        self.control = control

    async def decide(self, live: LiveCall, event_type: str, sequence: int) -> bool:
        """Ask the app what to do after the call's event ``sequence`` and do it. False when
        nobody answers with commands for this call (it goes on as without them)."""
        if live.finished:
            return True
        answer = await self.control.ask_app(live.call_id, sequence, None)
        if answer.outcome == "no_target":
            return False
        if answer.outcome == "commands" and await self._run(live, event_type, answer):
            return True
        if answer.outcome == "failed":
            await self._failed(live, event_type, answer, "fallback")
        await self._fallback(live, event_type, sequence)
        return True

    async def _failed(self, live: LiveCall, event_type: str, answer: AppAnswer,
                      then: str, **more: Any) -> None:
        await live.record_event("call.command.failed", {
            "reason": answer.reason, "webhook_id": answer.webhook_id, "event_type": event_type,
            "then": then, **answer.details, **more})

    async def _run(self, live: LiveCall, event_type: str, answer: AppAnswer) -> bool:
        """Run the answer's commands; False (stopped, reported) when the call's state refused
        one: the fallback then takes over, unless the call has ended."""
        last = len(answer.commands) - 1
        for index, command in enumerate(answer.commands):
            body = {k: v for k, v in command.items() if k != "action"}
            action = str(command["action"])
            try:
                early = action in EARLY_MEDIA and live.transport.early_media
                if not live.up.is_set() and action not in PRE_ANSWER and not early:
                    raise CommandError(409, "action_not_allowed",
                                       f"{action} needs an answered call; answer it first")
                _, task = await start(self.manager, live.call_id, action, body)
            except CommandError as exc:
                await self._failed(live, event_type, AppAnswer(
                    "failed", answer.webhook_id, reason="command_refused"),
                    "stopped" if live.finished else "fallback", index=index, action=action,
                    code=exc.code, message=exc.message)
                return live.finished
            if task is not None and index < last:
                await task  # the next command starts when this one is done
            if live.finished:
                return True
        return True

    async def _fallback(self, live: LiveCall, event_type: str, sequence: int) -> None:
        if live.finished:
            return
        fallback = await self._fallback_of(live)
        if fallback.url:
            answer = await self.control.ask_app(live.call_id, sequence, fallback.url)
            if answer.outcome == "commands" and answer.commands:
                if await self._run(live, event_type, answer):
                    return
            elif answer.outcome == "failed":
                await self._failed(live, event_type, answer, "default_fallback")
        await self._default(live, fallback)

    async def _fallback_of(self, live: LiveCall) -> CommandFallback:
        """The number's fallback: the called number of an inbound call, the calling one of an
        outbound call; the default (speak, hang up) when it has none."""
        call = live.call
        e164 = call.to if call.direction == "inbound" else call.from_
        number = await self.control.number(e164)
        if number is not None and number.app_id == call.app_id and number.command_fallback:
            return number.command_fallback
        return CommandFallback()

    async def _default(self, live: LiveCall, fallback: CommandFallback) -> None:
        """Say the fallback's message (answering first if the call rings), then hang up or
        transfer: the caller always hears something."""
        if live.finished:
            return
        if not live.up.is_set():
            if not live.transport.ringing:
                await live.hangup("app_unavailable")
                return
            await self.manager.answer(live)
            if live.finished or not live.up.is_set():
                return
        await live.speak(fallback.speak, None)
        if live.finished:
            return
        if fallback.then == "transfer" and fallback.transfer_to:
            await live.transfer(fallback.transfer_to)
            return
        await live.hangup("app_unavailable")
