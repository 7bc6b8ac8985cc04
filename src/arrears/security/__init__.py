"""Users, roles, permissions, authentication, personal-data encryption and the audit chain."""
