"""Packaged data files: the default flow file and prompt catalog."""
