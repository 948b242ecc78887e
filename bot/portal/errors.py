"""The few domain errors every portal client raises, whatever went wrong underneath."""

from __future__ import annotations


class PortalError(Exception):
    """Base class: the lookup did not produce a dossier."""


class PortalUnavailable(PortalError):
    """The portal is slow, down, refusing us, or the circuit breaker is open."""


class DossierNotFound(PortalError):
    """The portal answered: no dossier with this code."""


class PortalBadResponse(PortalError):
    """The portal answered something we cannot read (malformed or unexpected body)."""
