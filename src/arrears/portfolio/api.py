"""Portfolio HTTP routes (read side); the security shell adds authentication and scoping."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["portfolio"])
