"""Settings from the environment (prefix ARREARS_) with safe embedded defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARREARS_", extra="ignore")

    database_url: str = "sqlite:///./arrears.db"
    # PII encryption keys live outside the repository; created on `arrears init` if missing.
    key_file: Path = Path("./keys/arrears.key")
    default_currency: str = "CNY"
    default_timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    # The propensity model registry (`arrears model … --registry`); its live version scores the batch.
    model_registry: Path = Path("./models")


@lru_cache
def get_settings() -> Settings:
    return Settings()
