"""analytics feature package."""
