"""Creditors, debtors and their contact points, accounts and schedules, cases, placement import, ageing."""
