"""The national dossier status vocabulary (codes 1–10), in plain Vietnamese, with what
the citizen should do next. Pure data + one function: importable anywhere."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    code: int
    name: str
    meaning: str
    next_step: str
    final: bool  # nothing more will happen: no point in waiting for a notification


STATUSES: dict[int, Status] = {
    s.code: s
    for s in (
        Status(
            1,
            "Mới đăng ký",
            "Hồ sơ đã được gửi lên hệ thống nhưng cán bộ chưa kiểm tra.",
            "Anh/Chị chờ cán bộ tiếp nhận, thường trong 1 ngày làm việc; chưa cần làm gì thêm.",
            False,
        ),
        Status(
            2,
            "Được tiếp nhận",
            "Cán bộ đã kiểm tra và nhận hồ sơ đầy đủ.",
            "Anh/Chị chờ cơ quan giải quyết; giữ giấy tiếp nhận để đối chiếu khi nhận kết quả.",
            False,
        ),
        Status(
            3,
            "Không được tiếp nhận",
            "Hồ sơ không được nhận, thường do sai thủ tục hoặc thiếu điều kiện.",
            "Anh/Chị xem lý do trong thông báo của cơ quan, chuẩn bị lại rồi nộp hồ sơ mới.",
            True,
        ),
        Status(
            4,
            "Đang xử lý",
            "Cơ quan có thẩm quyền đang giải quyết hồ sơ.",
            "Anh/Chị chờ đến ngày hẹn trả kết quả; chưa cần làm gì thêm.",
            False,
        ),
        Status(
            5,
            "Yêu cầu bổ sung giấy tờ",
            "Hồ sơ còn thiếu hoặc cần sửa giấy tờ.",
            "Anh/Chị bổ sung giấy tờ theo yêu cầu thì hồ sơ mới được giải quyết tiếp.",
            False,
        ),
        Status(
            6,
            "Yêu cầu thực hiện nghĩa vụ tài chính",
            "Hồ sơ cần nộp phí, lệ phí hoặc thuế trước khi giải quyết tiếp.",
            "Anh/Chị nộp tiền theo thông báo (trực tuyến trên Cổng Dịch vụ công hoặc tại bộ phận một cửa), rồi giữ biên lai.",
            False,
        ),
        Status(
            7,
            "Công dân yêu cầu rút hồ sơ",
            "Hồ sơ đã được rút theo yêu cầu của người nộp.",
            "Nếu vẫn cần làm thủ tục, Anh/Chị nộp hồ sơ mới.",
            True,
        ),
        Status(
            8,
            "Dừng xử lý",
            "Cơ quan đã dừng giải quyết hồ sơ.",
            "Anh/Chị xem lý do trong thông báo của cơ quan hoặc gọi đường dây nóng để được hướng dẫn.",
            True,
        ),
        Status(
            9,
            "Đã xử lý xong",
            "Hồ sơ đã giải quyết xong, kết quả đang chờ trả.",
            "Anh/Chị đến nhận kết quả tại nơi đã nộp (mang giấy tiếp nhận và giấy tờ tùy thân), hoặc chờ kết quả gửi qua bưu điện nếu đã đăng ký.",
            False,
        ),
        Status(
            10,
            "Đã trả kết quả",
            "Kết quả đã được trả cho người nộp.",
            "Thủ tục đã hoàn tất. Nếu chưa nhận được kết quả, Anh/Chị liên hệ nơi nộp hồ sơ.",
            True,
        ),
    )
}


def status(code: int) -> Status:
    """The vocabulary entry for ``code``; KeyError for a code outside 1–10."""
    return STATUSES[code]
