"""quality feature package."""
