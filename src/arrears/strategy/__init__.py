"""Segments, treatments, experiments and the nightly batch."""
