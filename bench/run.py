"""Run every benchmark (`make bench`) and collect their JSON lines into bench/out/results.jsonl.

Each bench compares against a baseline measured in the same run; the figures worth keeping go
into bench/RESULTS.md by hand, with the machine's load noted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    only = set(sys.argv[1:])
    failed = 0
    with (out / "results.jsonl").open("a", encoding="utf-8") as sink:
        for bench in sorted(HERE.glob("bench_*.py")):
            if only and bench.stem not in only:
                continue
            print(f"== {bench.stem}", flush=True)
            proc = subprocess.run(
                [sys.executable, "-m", f"bench.{bench.stem}"], cwd=HERE.parent, capture_output=True, text=True
            )
            if proc.returncode:
                failed += 1
                print(proc.stderr[-2000:], file=sys.stderr)
                continue
            for line in proc.stdout.splitlines():
                line = line.strip()
                if line.startswith("{"):
                    record = {"bench": bench.stem, "at": datetime.now(UTC).isoformat(), **json.loads(line)}
                    sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
