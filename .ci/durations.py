"""Seconds per test file from a pytest JUnit report: how CI's test time splits (fuzz, memory,
differential, ...). Usage: python .ci/durations.py build/ci-junit.xml"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def main(path: str) -> None:
    per_file: "defaultdict[str, float]" = defaultdict(float)
    for case in ET.parse(path).getroot().iter("testcase"):
        # classname is "tests.test_fuzz" (or "tests.test_x.TestClass"): keep the module
        parts = case.get("classname", "?").split(".")
        name = next((p for p in parts if p.startswith("test_")), parts[-1])
        per_file[name] += float(case.get("time", 0.0))
    for name, seconds in sorted(per_file.items(), key=lambda kv: -kv[1]):
        print(f"   {seconds:7.1f} s  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
