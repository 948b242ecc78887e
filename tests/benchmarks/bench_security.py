"""What the security and privacy measures cost (issue 15): log masking per line, the
per-dossier budget check with many recorded tries, token encryption, and the retention
purge. Prints numbers and writes var/bench/security.json; asserts nothing about time.

    .venv/bin/python tests/benchmarks/bench_security.py
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import sqlalchemy as sa

from bot import privacy
from bot.channels.zalo_tokens import TokenCipher
from bot.logs import mask_pii
from bot.portal import attempts
from bot.settings import Settings
from knowledge.db import create_db_engine, dossier_lookup_attempts, feedback, migrate, utcnow
from tests.benchmarks.common import percentiles, write

LINES = [
    "zalo: could not answer user_send_text for hồ sơ 000.00.04.H51-200221-0001",
    "citizen wrote: gọi giúp tôi 0912 345 678 hoặc 028 3823 4567, mail an.nguyen@example.vn",
    "rate limit (address) on /api/chat",
    "căn cước 001 099 012 345 bị mất, năm 2024 lệ phí 70.000 đồng",
]


def timed_ms(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    results: dict[str, object] = {}
    lines = LINES * 2500
    start = time.perf_counter()
    for line in lines:
        mask_pii(line)
    elapsed = time.perf_counter() - start
    results["mask_pii"] = {"lines": len(lines), "us_per_line": round(elapsed / len(lines) * 1e6, 2)}

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        engine = create_db_engine(url)
        key = attempts.dossier_key("000.00.04.H51-200221-0001", b"k" * 32)
        now = utcnow()
        rows = [
            {"conversation": f"web:c{i % 5000}", "dossier_key": f"{i % 20000:064x}", "success": False,
             "at": now - dt.timedelta(minutes=i % 2000)}
            for i in range(100_000)
        ]  # fmt: skip
        with engine.begin() as connection:
            connection.execute(dossier_lookup_attempts.insert(), rows)
        budget = attempts.Budget()
        check = timed_ms(lambda: attempts.lookup_state(engine, "web:c1", key, budget), 200)
        record = timed_ms(lambda: attempts.succeed(engine, attempts.begin(engine, "web:c1", key)), 200)
        results["lookup_budget_sqlite_100k_tries"] = {
            "check_ms": percentiles(check),
            "record_ms": percentiles(record),
        }

        old = now - dt.timedelta(days=120)
        with engine.begin() as connection:
            connection.execute(
                feedback.insert(),
                [
                    {"conversation": f"c{i}", "question": "q", "rating": "up", "at": old}
                    for i in range(50_000)
                ],
            )
        config = Settings(var_dir=Path(tmp), database_url=url)  # type: ignore[call-arg]
        start = time.perf_counter()
        removed = privacy.purge(engine, config, "bench")
        results["purge_sqlite"] = {
            "removed": sum(removed.values()),
            "ms": round((time.perf_counter() - start) * 1000, 1),
        }
        with engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(feedback)).scalar_one() == 0
        engine.dispose()

    cipher = TokenCipher("s" * 48)
    token = "x" * 180
    stored = cipher.encrypt(token)
    results["zalo_token_fernet_us"] = {
        "encrypt": round(min(timed_ms(lambda: cipher.encrypt(token), 500)) * 1000, 1),
        "decrypt": round(min(timed_ms(lambda: cipher.decrypt(stored), 500)) * 1000, 1),
    }
    write("security", results)


if __name__ == "__main__":
    main()
