"""scoring feature package."""
