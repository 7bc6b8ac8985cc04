"""Infrastructure shared by every feature: settings, database, money, clock, errors. No business rules."""
