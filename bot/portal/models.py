"""What the portal API returns, validated (pydantic): anything else is a bad response."""

from __future__ import annotations

import datetime as dt
import hmac

from pydantic import BaseModel, ConfigDict, Field

from bot.portal.codes import fold_digits

_ASCII_DIGITS = frozenset("0123456789")


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: int = Field(ge=1, le=10)
    at: dt.datetime
    note: str | None = None


class Supplement(BaseModel):
    """What the officer asked to add (status 5) and where to hand it in."""

    model_config = ConfigDict(extra="ignore")

    documents: list[str] = Field(min_length=1)
    where: str
    deadline: dt.date | None = None


class Payment(BaseModel):
    """What to pay (status 6)."""

    model_config = ConfigDict(extra="ignore")

    amount_vnd: int = Field(ge=0)
    reason: str


class Dossier(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str = Field(min_length=10, max_length=40)
    procedure_name: str
    agency: str
    status: int = Field(ge=1, le=10)
    applicant_phone: str = Field(repr=False, min_length=4, max_length=20)
    received_at: dt.datetime
    expected_return_date: dt.date | None = None
    history: list[StatusChange] = Field(min_length=1)
    supplement: Supplement | None = None
    payment: Payment | None = None
    url: str | None = None

    def phone_matches(self, last4: str) -> bool:
        """Constant-time comparison of ASCII bytes; anything but 4 ASCII digits is no match
        (never an exception, whatever the caller passed)."""
        if not isinstance(last4, str) or len(last4) != 4 or not all(ch in _ASCII_DIGITS for ch in last4):
            return False
        digits = "".join(ch for ch in fold_digits(self.applicant_phone) if ch in _ASCII_DIGITS)
        return len(digits) >= 4 and hmac.compare_digest(digits[-4:].encode(), last4.encode())

    @property
    def change_key(self) -> str:
        """Identifies the latest status change (one notification per change)."""
        last = self.history[-1]
        return f"{self.status}@{last.at.isoformat()}"[:64]
