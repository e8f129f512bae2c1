"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from service.db import Database
from service.settings import Settings

# Ids are 32-bit on PostgreSQL: larger ones cannot exist, so they are refused up front.
MAX_ID = 2_147_483_647


# Async, so FastAPI calls them on the event loop: a sync dependency costs every request a
# hop through the thread pool, however little it does.
async def get_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
Limit = Annotated[int, Query(ge=1, le=1000, description="page size (at most 1000)")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


def id_path(name: str) -> object:
    return Path(ge=1, le=MAX_ID, description=f"the {name}'s id")
