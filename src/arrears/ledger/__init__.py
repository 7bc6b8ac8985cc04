"""Double-entry ledger: every transaction balances; balances are sums of entries."""
