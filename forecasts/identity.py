"""Who acts and who forecasts.

A forecaster's name is an identity compared after Unicode case folding, with leading,
trailing and repeated spaces ignored ("ann", " Ann " and "ANN" are one forecaster), shown as
first spelled. A `Principal` is whoever makes a change (a token, or a trusted local caller
such as the command line), with the scopes that decide what they may do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select

from forecasts.tables import forecasts_t

SCOPES = ("forecast", "record", "review", "admin")


@dataclass(frozen=True)
class Principal:
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def acting(actor: str | Principal | None) -> Principal:
    """The principal behind a domain call. A bare name comes from a trusted local caller
    (the command line, seeding, an import, a test), which may do everything."""
    if isinstance(actor, Principal):
        return actor
    return Principal(actor or "local", frozenset(SCOPES))


def forecaster_key(name: str) -> str:
    """The identity a name stands for."""
    return " ".join(name.split()).casefold()


def same_identity(first: str | None, second: str | None) -> bool:
    if first is None or second is None:
        return False
    return forecaster_key(first) == forecaster_key(second)


# Built once: it runs for every forecast filed, and building it costs more than running it.
FIRST_SPELLING = (
    select(forecasts_t.c.forecaster)
    .where(forecasts_t.c.forecaster_key == bindparam("key"))
    .order_by(forecasts_t.c.id)
    .limit(1)
)


def display_name(conn: Connection, name: str) -> str:
    """The spelling the forecaster was first recorded under, or this one (spaces tidied) for
    a new forecaster."""
    found = conn.execute(FIRST_SPELLING, {"key": forecaster_key(name)}).first()
    return str(found.forecaster) if found is not None else " ".join(name.split())
