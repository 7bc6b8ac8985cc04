"""Generated portfolios shared by the simulation tests (generation is deterministic, so sharing is safe)."""

from __future__ import annotations

from datetime import date

import pytest

from arrears.simulation.portfolio import SimulatedPortfolio, generate_portfolio

PLACED = date(2026, 9, 30)


@pytest.fixture(scope="session")
def zh_portfolio() -> SimulatedPortfolio:
    return generate_portfolio(20_000, 2026, "zh_CN", placement_date=PLACED, payments_share=0.3)


@pytest.fixture(scope="session")
def en_portfolio() -> SimulatedPortfolio:
    return generate_portfolio(20_000, 2026, "en_US", placement_date=PLACED, payments_share=0.3)


@pytest.fixture(scope="session", params=["zh_CN", "en_US"])
def any_portfolio(
    request: pytest.FixtureRequest, zh_portfolio: SimulatedPortfolio, en_portfolio: SimulatedPortfolio
) -> SimulatedPortfolio:
    return zh_portfolio if request.param == "zh_CN" else en_portfolio
