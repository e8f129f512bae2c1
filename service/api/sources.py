"""Placeholder router for sources (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter(tags=["sources"])
