"""Tests of users, permissions, personal data and the audit trail."""
