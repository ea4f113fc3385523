#!/usr/bin/env bash
# The scorer's emails, read by an independent MIME parser (Python's email package)
# and HTML parser: run a small scoring pass into an outbox, then check that every
# .eml is RFC 5322 with text + HTML alternatives, the HTML's tags are balanced, and
# the trainer's report carries grades.csv, item-analysis.csv and test-statistics.csv
# that parse with the right headers.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo run -q -p scorer --example scorer-bench -- --students 6 --tests 3 --questions 4 --store local --data-dir "$work/data"
python3 - "$work/data/outbox" <<'PY'
import csv, email, email.policy, io, pathlib, sys
from html.parser import HTMLParser

VOID = {"meta", "br", "img", "hr", "link", "input"}

class Balance(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)
    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>, open: {self.stack}"
        self.stack.pop()

files = sorted(pathlib.Path(sys.argv[1]).glob("*.eml"))
assert len(files) == 7, f"expected 6 student emails + 1 report, got {len(files)}"
reports = 0
for f in files:
    msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
    for h in ("From", "To", "Subject", "Date", "Message-ID"):
        assert msg[h], f"{f.name}: missing {h}"
    assert not msg.defects, f"{f.name}: {msg.defects}"
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None, f"{f.name}: needs text and HTML parts"
    p = Balance()
    p.feed(html.get_content())
    p.close()
    assert not p.stack, f"{f.name}: unclosed {p.stack}"
    if msg["To"].startswith("trainer@"):
        reports += 1
        atts = [a for a in msg.iter_attachments() if a.get_filename() == "grades.csv"]
        assert len(atts) == 1, f"{f.name}: grades.csv attachment"
        rows = list(csv.DictReader(io.StringIO(atts[0].get_content())))
        assert rows and set(rows[0]) >= {"subject", "test", "student", "points", "grade"}, rows[:1]
        named = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
        items = list(csv.DictReader(io.StringIO(named["item-analysis.csv"])))
        assert len(items) == 3 * 4, f"a row per question of each test: {len(items)}"
        for r in items:
            assert set(r) >= {"subject", "test", "questionId", "facility", "discrimination"}, r
            f = r["facility"]
            assert "." in f and len(f.split(".")[1]) >= 3 and 0 <= float(f) <= 1, r
            d = r["discrimination"]
            assert d == "" or -1 <= float(d) <= 1, r
        tests = list(csv.DictReader(io.StringIO(named["test-statistics.csv"])))
        assert len(tests) == 3, tests
        assert set(tests[0]) >= {"subject", "test", "n", "mean", "sd", "alpha"}, tests[0]
    else:
        assert "Test score" in msg["Subject"], msg["Subject"]
        assert "Correct answer:" in plain.get_content()
assert reports == 1
print(f"{len(files)} scorer emails parsed cleanly")
PY
