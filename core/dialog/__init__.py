"""The conversation: flows an admin can read, escalation triggers with reason codes, the dialogue
that drives a call turn by turn. Knows no PBX: it talks to the caller through a port."""
