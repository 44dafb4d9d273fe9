"""The producer console: the screen pop before the phone rings, the wrap-up, the supervisors' board."""
