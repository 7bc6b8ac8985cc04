"""Case-work settings from the environment (prefix ARREARS_CASES_), with the defaults below."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARREARS_CASES_", extra="ignore")

    # Days after a promise's due date during which a payment still keeps it (ARREARS_CASES_PROMISE_GRACE_DAYS).
    promise_grace_days: int = Field(default=2, ge=0, le=60)
    # How far ahead a promise may be dated.
    promise_max_days: int = Field(default=90, ge=1, le=3650)
    # A collector's workload cap when they have no profile.
    default_cap: int = Field(default=200, ge=1, le=100_000)
    # Attempts older than this are left out of the history the guard reads (holds and consents never are).
    history_attempt_days: int = Field(default=35, ge=8, le=3650)


@lru_cache
def get_case_settings() -> CaseSettings:
    return CaseSettings()
