"""The AI's voice on an Asterisk call: ARI playbacks on the caller's channel.

Prompts are played on the caller's channel (not the bridge) so Warmline's own media channel
never hears them: the VAD only ever hears the caller, which is what makes barge-in safe.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from warmline.ari_app.client import AriClient, AriError
from warmline.speech.prompts import Media, Outcome, Prompt, Sound, media_name

log = logging.getLogger(__name__)

PLAYBACK_VARIABLE = "WARMLINE_PLAYBACK"
PLAYBACK_TIMEOUT_S = 120.0  # no prompt is this long; past it the playback is presumed lost


def media_uri(media: Media, sound_dir: str) -> str:
    if isinstance(media, Sound):
        return f"sound:{sound_dir.rstrip('/')}/{media.key}"
    return media_name(media)  # Asterisk's own digits:/number:/characters: read-backs


class AriVoice:
    def __init__(self, client: AriClient, channel_id: str, sound_dir: str) -> None:
        self.client = client
        self.channel_id = channel_id
        self.sound_dir = sound_dir
        self._playing: str | None = None
        self._stopped: set[str] = set()
        self._finished: dict[str, asyncio.Future[str]] = {}
        self.gone = False

    async def play(self, prompt: Prompt) -> str:
        if self.gone:
            return Outcome.GONE
        playback_id = f"wl-pb-{uuid.uuid4().hex[:12]}"
        done = self._finished[playback_id] = asyncio.get_running_loop().create_future()
        media = ",".join(media_uri(m, self.sound_dir) for m in prompt.media)
        try:
            # The playback's id rides on the channel: a later Warmline that finds this caller stranded
            # stops it before handing them on (`continue` would wait for its end). Set before the
            # play: Asterisk queues channel requests behind a running playback.
            await self.client.post(f"/channels/{self.channel_id}/variable", missing_ok=True,
                                   params={"variable": PLAYBACK_VARIABLE, "value": playback_id})
            await self.client.post(f"/channels/{self.channel_id}/play",
                                   params={"media": media, "playbackId": playback_id})
            self._playing = playback_id
            state = await asyncio.wait_for(done, PLAYBACK_TIMEOUT_S)
        except AriError as exc:
            if exc.status == 404:  # the channel is gone
                self.gone = True
                return Outcome.GONE
            log.error("prompt could not be played: %s", exc)
            return Outcome.FAILED
        finally:
            self._playing = None
            self._finished.pop(playback_id, None)
        if playback_id in self._stopped:
            self._stopped.discard(playback_id)
            return Outcome.INTERRUPTED
        return Outcome.FINISHED if state == "done" else (Outcome.GONE if self.gone else Outcome.FAILED)

    async def stop(self) -> None:
        playback_id = self._playing
        if playback_id is None:
            return
        self._stopped.add(playback_id)
        await self.client.delete(f"/playbacks/{playback_id}", missing_ok=True)

    # --- from the Stasis app's event stream ---------------------------------------------------

    def on_playback_finished(self, playback: dict[str, Any]) -> None:
        future = self._finished.get(playback.get("id", ""))
        if future is not None and not future.done():
            future.set_result(playback.get("state", "done"))

    def on_caller_gone(self) -> None:
        self.gone = True
        for future in self._finished.values():
            if not future.done():
                future.set_result("gone")
