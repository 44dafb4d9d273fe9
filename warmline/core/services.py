"""Speech services built once per process, before any audio flows, and shared by all calls."""

from __future__ import annotations

from dataclasses import dataclass

from .settings import SttSettings, VadSettings
from .stt import SttEngine, load_engine
from .stt.pool import SttPool
from .vad import SegmenterConfig, SileroVad, VadStream, WebRtcVad


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


def build_services(vad: VadSettings, stt: SttSettings, engine: SttEngine | None = None) -> SpeechServices:
    """Load every model now: a missing or corrupt model fails here, never mid-call."""
    import os

    workers = stt.workers or os.cpu_count() or 1
    if engine is None:
        options = {"workers": workers}
        if stt.model_path:
            options["model_path"] = stt.model_path
        engine = load_engine(stt.engine, **options)
    segmenter = SegmenterConfig(vad.start_ms, vad.hangover_ms, vad.max_utterance_ms, vad.no_input_ms)
    return SpeechServices(build_vad(vad), segmenter, SttPool(engine, workers, stt.max_queue))
