"""The hand-off: what travels with a caller to a person (payload), and who to ring (routing)."""
