"""Placeholder router for scores (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter(tags=["scores"])
