"""The engine. It knows audio, calls and decisions, and no PBX: plugins drive it."""
