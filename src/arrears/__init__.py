"""Arrears — an open-source collections platform (催收管理系统)."""

__version__ = "0.1.0"
