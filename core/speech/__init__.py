"""Speech on the box: audio formats, RTP framing, voice activity, speech-to-text, prompts. Knows no PBX."""
