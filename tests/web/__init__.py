"""Tests of the web/API shell."""
