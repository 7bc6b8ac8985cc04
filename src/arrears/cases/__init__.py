"""cases feature package."""
