#!/usr/bin/env python3
"""Counts test cases from Bazel's JUnit XML files plus python unittest output on stdin.

Prints the closing line "N passed, N failed" and exits non-zero when anything failed. A test
target that failed without a usable XML (crash, timeout) counts as one failure."""
import os
import re
import sys
import xml.etree.ElementTree as ET

logs, bazel_rc = sys.argv[1], int(sys.argv[2])
passed = failed = 0
for dirpath, _, files in os.walk(logs, followlinks=True):
    if "test.xml" not in files:
        continue
    path = os.path.join(dirpath, "test.xml")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        failed += 1
        continue
    cases = root.iter("testcase")
    n_cases = 0
    for c in cases:
        n_cases += 1
        if c.find("failure") is not None or c.find("error") is not None:
            failed += 1
        elif c.find("skipped") is not None or c.get("status") == "notrun":
            pass
        else:
            passed += 1
    if n_cases == 0:
        # Bazel's own XML for a crashed or timed-out test: <testsuite><testcase> may be absent.
        if root.iter("failure") and any(True for _ in root.iter("failure")) or \
           any(True for _ in root.iter("error")):
            failed += 1

sim = sys.stdin.read()
m = re.search(r"Ran (\d+) tests?", sim)
if m:
    n = int(m.group(1))
    fm = re.search(r"FAILED \((?:failures=(\d+))?(?:, )?(?:errors=(\d+))?", sim)
    f = 0
    if fm:
        f = int(fm.group(1) or 0) + int(fm.group(2) or 0)
    passed += n - f
    failed += f
elif sim.strip():
    failed += 1

if bazel_rc not in (0,) and failed == 0:
    failed = 1  # build or infrastructure failure that produced no test XML
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
