"""legal feature package."""
