"""`warmline transcribe FILE...`: WAV files through the live call's speech path, one line each."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from pathlib import Path

from warmline.calls.events import CallJournal
from warmline.calls.listening import ListeningSession
from warmline.calls.session import CallInfo
from warmline.errors import AudioFormatError
from warmline.speech.audio import FRAME_MS, AudioChunk, AudioFormat
from warmline.speech.services import SpeechServices

ACCEPTED_RATES = (8000, 16000)


def read_wav(path: Path) -> tuple[AudioFormat, bytes]:
    try:
        with wave.open(str(path)) as wav:
            rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
            data = wav.readframes(wav.getnframes())
    except FileNotFoundError:
        raise AudioFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AudioFormatError(f"{path}: a folder, not a WAV file: pass the files, e.g. {path}/*.wav") from None
    except PermissionError:
        raise AudioFormatError(f"{path}: not readable: fix its permissions") from None
    except (wave.Error, EOFError, RuntimeError) as exc:  # wave's chunk reader raises a bare
        # RuntimeError for a chunk that claims more bytes than its RIFF container holds
        reason = str(exc) or ("a chunk is longer than the file says" if isinstance(exc, RuntimeError)
                              else "the file ends early")
        raise AudioFormatError(f"{path}: not a PCM WAV file ({reason}); convert it: "
                               f"sox {path} -r 8000 -c 1 -b 16 out.wav") from None
    if rate not in ACCEPTED_RATES or width != 2 or channels != 1:
        raise AudioFormatError(f"{path}: {rate} Hz, {width * 8}-bit, {channels} channel(s); Warmline takes 8 or "
                               f"16 kHz 16-bit mono: sox {path} -r 8000 -c 1 -b 16 out.wav")
    if len(data) % 2:  # a truncated file: the last sample is half there
        data = data[:-1]
    return AudioFormat(rate, 2), data


async def _chunks(fmt: AudioFormat, data: bytes) -> AsyncIterator[AudioChunk]:
    step = fmt.bytes_for(FRAME_MS / 1000)
    for offset in range(0, len(data) - len(data) % 2, step):
        yield AudioChunk(fmt, data[offset:offset + step])
        if offset % (step * 50) == 0:
            await asyncio.sleep(0)  # let finished decodes report while we feed


async def transcribe_file(path: Path, services: SpeechServices) -> str:
    fmt, data = read_wav(path)
    info = CallInfo(call_id=f"file:{path.name}", caller_number="", caller_name="", dialed="")
    session = ListeningSession(info, CallJournal(info.call_id), services)
    await session.run(_chunks(fmt, data))
    return " ".join(session.transcript())
