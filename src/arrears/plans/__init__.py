"""plans feature package."""
