"""Placeholder router for suggestions (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter(tags=["suggestions"])
