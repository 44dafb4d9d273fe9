"""Understanding what callers say: entities in transcribed speech and typed chat."""
