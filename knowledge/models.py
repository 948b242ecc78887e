"""The catalogue's data model: one administrative procedure (thủ tục hành chính).

Pure pydantic, shared by the importers, the storage layer, the index and the
actions. Unknown facts stay ``None``/empty: the bot must say the catalogue does not
know rather than guess a fee, a time limit or a legal basis.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Level = Literal["province", "commune", "ministry"]
Channel = Literal["online_full", "online_partial", "online", "in_person", "post"]
Status = Literal["draft", "published"]

CHANNEL_LABELS: dict[str, str] = {
    "online_full": "Trực tuyến toàn trình",
    "online_partial": "Trực tuyến một phần",
    "online": "Trực tuyến",
    "in_person": "Trực tiếp",
    "post": "Qua bưu chính",
}
LEVEL_LABELS: dict[str, str] = {
    "province": "Cấp tỉnh",
    "commune": "Cấp xã",
    "ministry": "Cấp bộ, trung ương",
}


class Document(BaseModel):
    """One paper the applicant must bring or upload."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    form_name: str | None = None
    form_url: str | None = None
    quantity: str | None = None


class Procedure(BaseModel):
    """One procedure as the catalogue knows it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=3, max_length=500)
    field: str | None = None
    level: Level | None = None
    agency: str | None = None
    applicants: str | None = None
    steps: list[str] = Field(default_factory=list)
    documents: list[Document] = Field(default_factory=list)
    fees: str | None = None
    processing_time: str | None = None
    channels: list[Channel] = Field(default_factory=list)
    where: str | None = None
    legal_basis: list[str] = Field(default_factory=list)
    result: str | None = None
    url: str | None = None
    aliases: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    source: str = Field(min_length=1)
    last_reviewed: dt.date | None = None
    status: Status = "published"

    @field_validator("url")
    @classmethod
    def _official_link_is_web(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("url phải bắt đầu bằng http:// hoặc https://")
        return value
