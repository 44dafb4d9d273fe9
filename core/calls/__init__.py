"""A call as Warmline records it: the typed event stream, the session contract, the event store."""
