"""Who acts and who forecasts.

A forecaster's name is an identity compared after Unicode case folding, with leading,
trailing and repeated spaces ignored ("ann", " Ann " and "ANN" are one forecaster), shown as
first spelled. A `Principal` is whoever makes a change (a token, or a trusted local caller
such as the command line), with the scopes that decide what they may do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, event, select

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


# First spellings already read on a connection, kept on it (conn.info lives as long as the
# database connection). A first spelling never changes once committed: forecasts are never
# deleted. One read inside a transaction that is then rolled back (a failed batch, a
# savepoint released by an error) may be of a row that never lands, so any rollback on the
# connection forgets them all.
_SPELLINGS = "forecasts.identity.first_spellings"


def _forget_spellings(conn: Connection, *_args: object) -> None:
    conn.info.pop(_SPELLINGS, None)


def _forget_on_rollback(engine: Engine) -> None:
    for name in ("rollback", "rollback_savepoint"):
        if not event.contains(engine, name, _forget_spellings):
            event.listen(engine, name, _forget_spellings)


def display_name(conn: Connection, name: str) -> str:
    """The spelling the forecaster was first recorded under, or this one (spaces tidied) for
    a new forecaster."""
    key = forecaster_key(name)
    known: dict[str, str] | None = conn.info.get(_SPELLINGS)
    if known is not None and key in known:
        return known[key]
    found = conn.execute(FIRST_SPELLING, {"key": key}).first()
    if found is None:
        return " ".join(name.split())
    if known is None:
        _forget_on_rollback(conn.engine)
        known = conn.info[_SPELLINGS] = {}
    if len(known) > 10_000:
        known.clear()
    known[key] = str(found.forecaster)
    return known[key]
