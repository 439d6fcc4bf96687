#!/usr/bin/env python3
"""Counts test cases of one `bazel test` invocation plus python unittest output on stdin.

argv: the invocation's --build_event_json_file, bazel's exit code. The build event stream names
the test.xml of every test target of this invocation (cached ones included), so stale logs of
other runs never count. Prints the closing line "N passed, N failed" and exits non-zero when
anything failed. A target that failed without a usable XML (crash, timeout) counts as one
failure; so does a failed build."""
import json
import re
import sys
import xml.etree.ElementTree as ET
from urllib.parse import unquote, urlparse

bep, bazel_rc = sys.argv[1], int(sys.argv[2])
passed = failed = 0
xmls = []
try:
    with open(bep) as f:
        for line in f:
            ev = json.loads(line)
            tr = ev.get("testResult")
            if tr is None:
                continue
            status = tr.get("status", "")
            xml = next((o["uri"] for o in tr.get("testActionOutput", [])
                        if o.get("name") == "test.xml"), None)
            xmls.append((xml, status, ev.get("id", {}).get("testResult", {}).get("label", "?")))
except OSError:
    pass

for uri, status, label in xmls:
    root = None
    if uri:
        try:
            root = ET.parse(unquote(urlparse(uri).path)).getroot()
        except (OSError, ET.ParseError):
            root = None
    cases = list(root.iter("testcase")) if root is not None else []
    target_failed = 0
    for c in cases:
        if c.find("failure") is not None or c.find("error") is not None:
            target_failed += 1
        elif c.find("skipped") is not None or c.get("status") == "notrun":
            pass
        else:
            passed += 1
    if status not in ("PASSED", "FLAKY") and target_failed == 0:
        target_failed = 1  # crashed, timed out or failed without a usable XML
        print(f"failed without test cases: {label} ({status})", file=sys.stderr)
    failed += target_failed

sim = sys.stdin.read()
m = re.search(r"Ran (\d+) tests?", sim)
if m:
    n = int(m.group(1))
    fm = re.search(r"FAILED \((?:failures=(\d+))?(?:, )?(?:errors=(\d+))?", sim)
    f = int(fm.group(1) or 0) + int(fm.group(2) or 0) if fm else 0
    passed += n - f
    failed += f
elif sim.strip():
    failed += 1

# argv[3] (optional): tools/fuzz output, one "<name>: N execs in Ts, K crashes…" line per
# fuzzer, then "fuzz_rc=<exit code>". Each fuzzer counts as one test case.
if len(sys.argv) > 3:
    try:
        fuzz = open(sys.argv[3]).read()
    except OSError:
        fuzz = ""
    runs = re.findall(r"^(\w+): \d+ execs.*?(\d+) crash", fuzz, re.M)
    fuzz_failed = sum(1 for _, k in runs if int(k) > 0)
    passed += len(runs) - fuzz_failed
    failed += fuzz_failed
    rc = re.search(r"^fuzz_rc=(\d+)", fuzz, re.M)
    if (not runs or (rc and int(rc.group(1)) != 0)) and fuzz_failed == 0:
        failed += 1
        print("fuzzers failed to build or run:\n" + fuzz[-2000:], file=sys.stderr)

if bazel_rc != 0 and failed == 0:
    failed = 1  # build or infrastructure failure that produced no test result
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
