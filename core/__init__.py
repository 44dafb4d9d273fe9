"""Warmline: an on-prem voice-AI front line for an agency's own PBX."""

__version__ = "0.1.0"
