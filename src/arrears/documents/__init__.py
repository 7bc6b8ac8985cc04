"""documents feature package: per-case attachments and generated letters (PDF, zh-CN and English)."""
