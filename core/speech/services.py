"""Speech services built once per process, before any audio flows, and shared by all calls."""

from __future__ import annotations

import os
from dataclasses import dataclass

from warmline.speech.settings import SttSettings, VadSettings
from warmline.speech.stt import SttEngine, load_engine
from warmline.speech.stt.pool import SttPool
from warmline.speech.vad import SegmenterConfig, SileroVad, VadStream, WebRtcVad


@dataclass
class SpeechServices:
    vad: SileroVad | WebRtcVad
    segmenter: SegmenterConfig
    stt: SttPool

    def vad_stream(self) -> VadStream:
        return self.vad.stream()

    def close(self) -> None:
        self.stt.close()


def build_vad(settings: VadSettings) -> SileroVad | WebRtcVad:
    if settings.engine == "webrtc":
        return WebRtcVad(settings.aggressiveness)
    return SileroVad(settings.threshold)


def stt_workers(settings: SttSettings) -> int:
    return settings.workers or os.cpu_count() or 1


def build_engine(settings: SttSettings) -> SttEngine:
    options: dict[str, object] = {"workers": stt_workers(settings)}
    if settings.model_path:
        options["model_path"] = settings.model_path
    return load_engine(settings.engine, **options)


def build_services(vad: VadSettings, stt: SttSettings) -> SpeechServices:
    """Load every model now: a missing or corrupt model fails here, never mid-call."""
    segmenter = SegmenterConfig(vad.start_ms, vad.hangover_ms, vad.max_utterance_ms, vad.no_input_ms, vad.pause_ms)
    return SpeechServices(build_vad(vad), segmenter, SttPool(build_engine(stt), stt_workers(stt), stt.max_queue, stt.decode_timeout_s))
