"""Every feature's tables, imported in one place so metadata (and Alembic) sees them all."""

from __future__ import annotations

from arrears.cases import models as cases_models  # noqa: F401
from arrears.core.db import Base
from arrears.documents import models as documents_models  # noqa: F401
from arrears.ledger import models as ledger_models
from arrears.legal import models as legal_models  # noqa: F401
from arrears.plans import models as plans_models  # noqa: F401
from arrears.portfolio import models as portfolio_models
from arrears.quality import models as quality_models  # noqa: F401
from arrears.security import models as security_models
from arrears.strategy import models as strategy_models

metadata = Base.metadata

__all__ = ["ledger_models", "metadata", "portfolio_models", "security_models", "strategy_models"]
