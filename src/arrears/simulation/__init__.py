"""Synthetic portfolios and debtor behaviour for demos, tests and backtests."""
