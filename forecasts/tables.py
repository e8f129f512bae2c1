"""The SQLAlchemy Core tables behind the SQLModel classes, typed once.

Hot paths and list queries work on rows through Core; taking the handles here, from the
metadata the models registered in (which is typed), keeps every other module free of
`Model.__table__` and its type-checker exception.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel

from forecasts import models


def _table(model: type[SQLModel]) -> Table:
    name = str(model.__tablename__)
    return SQLModel.metadata.tables[name]


tokens_t = _table(models.Token)
questions_t = _table(models.Question)
revision_t = _table(models.DataRevision)
forecasts_t = _table(models.Forecast)
sources_t = _table(models.Source)
news_t = _table(models.NewsItem)
suggestions_t = _table(models.Suggestion)
links_t = _table(models.EvidenceLink)
audit_t = _table(models.AuditEntry)
drafts_t = _table(models.Draft)
draft_claims_t = _table(models.DraftClaim)
webhooks_t = _table(models.Webhook)
webhook_deliveries_t = _table(models.WebhookDelivery)
webhook_attempts_t = _table(models.WebhookAttempt)
notify_cursors_t = _table(models.NotifyCursor)
