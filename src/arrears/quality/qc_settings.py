"""QC workflow settings from the environment (prefix ARREARS_QC_), with the defaults below.  # R24

Deadlines are counted in whole days of 24 hours from the step that starts them.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class QCSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARREARS_QC_", extra="ignore")

    # Sampling (R24): a score below this goes to an inspector (default: the scorecard's pass mark).
    low_score: float | None = Field(default=None, ge=0, le=100)
    # A machine decision less confident than this goes to an inspector.
    low_confidence: float = Field(default=0.5, ge=0, le=1)
    # Random share of each collector's other interactions, and the higher share for new staff.
    random_share: float = Field(default=0.05, ge=0, le=1)
    new_staff_share: float = Field(default=0.20, ge=0, le=1)
    # Staff hired (or, without a hiring date, created) within this many days count as new.
    new_staff_days: int = Field(default=90, ge=0, le=3650)
    # At least this many random picks per collector with interactions in the round.
    min_random_per_collector: int = Field(default=1, ge=0, le=1000)
    # Time limits of each step, in days.
    review_days: int = Field(default=2, ge=1, le=60)  # inspector evaluates
    response_days: int = Field(default=3, ge=1, le=60)  # collector acknowledges or appeals
    arbitration_days: int = Field(default=3, ge=1, le=60)  # QC lead arbitrates an appeal
    calibration_days: int = Field(default=7, ge=1, le=60)  # inspectors score a calibration set
    complaint_days: int = Field(default=15, ge=1, le=120)  # complaint investigated and answered
    regulator_complaint_days: int = Field(default=10, ge=1, le=120)  # a regulator's referral, sooner


@lru_cache
def get_qc_settings() -> QCSettings:
    return QCSettings()
