"""Domain exceptions. The service maps each kind to one HTTP status in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the domain enforces; `detail` is shown to the user as is."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(DomainError):
    """The thing named by id does not exist (404)."""


class Conflict(DomainError):
    """The request is valid but the current state forbids it (409)."""


class QuestionClosed(Conflict):
    """The question is resolved or annulled and takes no more changes."""


class InvalidInput(DomainError):
    """A value breaks a rule the schema alone cannot check (422)."""


class UnknownEstimate(InvalidInput):
    """A verbal estimate that the estimate table does not hold."""


class Forbidden(DomainError):
    """The caller is known but may not do this (403): another's question, another's name."""
