"""The citizen-facing answer for a verified dossier: status in plain words, what to do
next, the expected return date (and, for status 5/6, what to add or pay, and where)."""

from __future__ import annotations

import datetime as dt

from bot.portal.models import Dossier
from bot.portal.statuses import status


def vn_date(value: dt.date) -> str:
    return f"{value:%d/%m/%Y}"


def vn_money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


def status_reply(dossier: Dossier) -> str:
    entry = status(dossier.status)
    lines = [
        f"Hồ sơ {dossier.code} ({dossier.procedure_name}):",
        f"• Tình trạng: {entry.name}. {entry.meaning}",
    ]
    if dossier.status == 5 and dossier.supplement:
        needed = "; ".join(dossier.supplement.documents)
        lines.append(f"• Cần bổ sung: {needed}.")
        lines.append(f"• Nộp bổ sung tại: {dossier.supplement.where}.")
        if dossier.supplement.deadline:
            lines.append(f"• Hạn bổ sung: {vn_date(dossier.supplement.deadline)}.")
    if dossier.status == 6 and dossier.payment:
        lines.append(f"• Số tiền cần nộp: {vn_money(dossier.payment.amount_vnd)} ({dossier.payment.reason}).")
    lines.append(f"• Việc cần làm: {entry.next_step}")
    if dossier.expected_return_date and not entry.final and dossier.status != 9:
        lines.append(f"• Ngày hẹn trả kết quả: {vn_date(dossier.expected_return_date)}.")
    return "\n".join(lines)


def change_notice(dossier: Dossier) -> str:
    """The notification text for a status change."""
    entry = status(dossier.status)
    return (
        f"Hồ sơ {dossier.code} vừa chuyển sang tình trạng: {entry.name}. {entry.meaning} "
        f"Việc cần làm: {entry.next_step}"
    )


def locked_for_everyone_reply(hotline: str) -> str:
    """Too many failed tries on one dossier, from any conversation: the lookup is closed
    for everyone for a while; the citizen can still reach an officer."""
    return (
        "Hồ sơ này đã bị nhập sai thông tin xác minh quá nhiều lần nên việc tra cứu qua trợ lý "
        f"đang tạm khóa để bảo vệ thông tin. Anh/Chị vui lòng gọi đường dây nóng {hotline} "
        "để được cán bộ hỗ trợ."
    )
