"""Placeholder dashboard (filled in by the scores and dashboard issue)."""

from fastapi import APIRouter, FastAPI

router = APIRouter(include_in_schema=False)


def mount_static(app: FastAPI) -> None:
    return None
