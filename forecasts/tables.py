"""The SQLAlchemy Core tables behind the SQLModel classes, typed once.

Hot paths and list queries work on rows through Core; taking the handles here, with their
type, keeps every other module free of `Model.__table__` and its type-checker exception.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from forecasts.models import (
    DataRevision,
    EvidenceLink,
    Forecast,
    NewsItem,
    Question,
    Source,
    Suggestion,
    Token,
)

tokens_t = cast(Table, Token.__table__)
questions_t = cast(Table, Question.__table__)
revision_t = cast(Table, DataRevision.__table__)
forecasts_t = cast(Table, Forecast.__table__)
sources_t = cast(Table, Source.__table__)
news_t = cast(Table, NewsItem.__table__)
suggestions_t = cast(Table, Suggestion.__table__)
links_t = cast(Table, EvidenceLink.__table__)
