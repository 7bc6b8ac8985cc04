"""outreach feature package."""
