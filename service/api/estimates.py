"""The verbal-estimate table in use."""

from __future__ import annotations

from fastapi import APIRouter

from forecasts.estimates import estimate_table
from forecasts.schemas import EstimateOut

router = APIRouter(tags=["estimates"])


@router.get("/api/estimates", response_model=list[EstimateOut])
def list_estimates() -> list[EstimateOut]:
    """The verbal-phrase table in use: each phrase, its probability and its source."""
    return [
        EstimateOut(phrase=e.phrase, probability=e.probability, source=e.source)
        for e in estimate_table()
    ]
