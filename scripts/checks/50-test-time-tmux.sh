#!/usr/bin/env bash
# Screen check of the students' client in a real terminal (tmux), against the local
# stack, typed like a student would:
#   1. a first run (settings checked, then saved) and a test begun with a wrong
#      answer, a skip and a step back, then Ctrl-C: nothing sent, the draft kept (0600);
#   2. in a narrow (40 columns) terminal: the draft offered and resumed where it
#      stopped, n at the review asked about and declined, then submitted;
#   3. in the same narrow terminal: the listing, one block per test, nothing wider
#      than the terminal.
# The screens are saved to target/test-time-screen.txt and printed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
if ! command -v tmux >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing tmux for this check" >&2
    (apt-get install -y tmux >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y tmux >/dev/null; }) \
      || { echo "cannot install tmux (apt-get install tmux)" >&2; exit 1; }
  else
    echo "tmux is required for this check (apt-get install tmux)" >&2
    exit 1
  fi
fi
command -v python3 >/dev/null || { echo "python3 is required for this check" >&2; exit 1; }

cargo build --quiet -p trainer -p test-time
bin="$CARGO_TARGET_DIR/debug"
screen_file="$root/target/test-time-screen.txt"
mkdir -p "$(dirname "$screen_file")"

work="$(mktemp -d)"
socket="ework-test-time-$$"
stack_pid=""
cleanup() {
  tmux -L "$socket" kill-server 2>/dev/null || true
  [ -n "$stack_pid" ] && kill "$stack_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The stack, on a fresh data dir and a free port.
"${TEST_TIME_TRAINER_BIN:-$bin/trainer}" local --data-dir "$work/data" --port 0 >"$work/stack.log" 2>&1 &
stack_pid=$!
for _ in $(seq 1 300); do
  grep -q 'API URL:' "$work/stack.log" 2>/dev/null && grep -Eq 'student01\s+ewk_' "$work/stack.log" && break
  kill -0 "$stack_pid" 2>/dev/null || { cat "$work/stack.log"; echo "trainer local exited" >&2; exit 1; }
  sleep 0.2
done
url="$(sed -n 's/.*API URL:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$work/stack.log" | head -n1)"
key="$(awk '{ for (i = 2; i <= NF; i++) if ($(i-1) == "student01" && $i ~ /^ewk_[0-9a-f]+$/ && length($i) == 44) { print $i; exit } }' "$work/stack.log")"
[ -n "$url" ] && [ -n "$key" ] || { cat "$work/stack.log"; echo "no API URL or key printed" >&2; exit 1; }

# What the student will be asked: which numbers pick operating-systems/test01, and
# the options of each question.
listing="$(TEST_TIME_API_URL="$url" TEST_TIME_API_KEY="$key" TEST_TIME_STUDENT_ID=student01 \
  HOME="$work" "$bin/test-time" list --json)"
test_json="$(TEST_TIME_API_URL="$url" TEST_TIME_API_KEY="$key" TEST_TIME_STUDENT_ID=student01 \
  HOME="$work" "$bin/test-time" show operating-systems test01 --json)"
read -r subject_no test_no <<<"$(python3 -c '
import json, sys
tests = json.loads(sys.argv[1])["openTests"]
subjects = list(dict.fromkeys(t["subject"] for t in tests))
i = subjects.index("operating-systems")
in_os = [t["testId"] for t in tests if t["subject"] == "operating-systems"]
print(i + 1 if len(subjects) > 1 else 0, in_os.index("test01") + 1 if len(in_os) > 1 else 0)
' "$listing")"
mapfile -t options < <(python3 -c '
import json, sys
for q in json.loads(sys.argv[1])["questions"]:
    print(" ".join(a["answerId"] for a in q["answers"]))
' "$test_json")
count="${#options[@]}"
[ "$count" -ge 4 ] || { echo "operating-systems/test01 should have at least 4 questions" >&2; exit 1; }

# A student's terminal: empty home (first run), local time in Warsaw.
home="$work/home"
mkdir -p "$home"
draft="$home/.config/ework/drafts/student01/operating-systems/test01.json"
session=""
start() { # name width command...
  session="$1"; local width="$2"; shift 2
  tmux -L "$socket" -f /dev/null new-session -d -s "$session" -x "$width" -y 50 \
    "env -u TEST_TIME_API_URL -u TEST_TIME_API_KEY -u TEST_TIME_STUDENT_ID -u NO_COLOR -u COLUMNS \
     HOME='$home' XDG_CONFIG_HOME='$home/.config' TZ=Europe/Warsaw $*; \
     echo \"[test-time exited with \$?]\"; sleep 600"
  tmux -L "$socket" set-option -t "$session" history-limit 5000 >/dev/null
}
# -J joins the lines tmux wrapped itself: a line wider than the terminal in this
# capture is one test-time did not wrap.
screen() { tmux -L "$socket" capture-pane -p -J -S - -t "$session"; }
# Waits until TEXT appears at least N times on the screen.
wait_for() {
  local text="$1" n="${2:-1}"
  for _ in $(seq 1 150); do
    [ "$(screen | grep -cF -- "$text" || true)" -ge "$n" ] && return 0
    sleep 0.2
  done
  screen >&2
  echo "timed out waiting for: $text (x$n)" >&2
  exit 1
}
type_line() { tmux -L "$socket" send-keys -t "$session" -l -- "$1"; tmux -L "$socket" send-keys -t "$session" Enter; }
save() { { echo "==== $1"; screen; } >>"$screen_file"; }
fail() { echo "screen check failed: $*" >&2; exit 1; }
first() { echo "${options[$1]}" | awk '{print $1}'; }
last() { echo "${options[$1]}" | awk '{print $NF}'; }
: >"$screen_file"

# ---- 1. first run, then Ctrl-C in the middle of the test
start first 120 "'$bin/test-time'"
wait_for "API URL (from your trainer):"; type_line "$url"
wait_for "API key (input hidden):"; type_line "$key"
wait_for "Student id (e.g. student01):"; type_line "student01"
wait_for "Welcome, Ada Student!"   # the roster's name for student01
if [ "$subject_no" != 0 ]; then wait_for "Subject [1-"; type_line "$subject_no"; fi
if [ "$test_no" != 0 ]; then wait_for "Test [1-"; type_line "$test_no"; fi
wait_for "Question 1/$count"; type_line "zz"
wait_for "is not an answer to this question"; type_line "$(first 0 | tr '[:lower:]' '[:upper:]')"
wait_for "Question 2/$count"; type_line ""              # skip
wait_for "Question 3/$count"; type_line "<"             # back to question 2
wait_for "Question 2/$count" 2; type_line "$(last 1)"
wait_for "Question 3/$count" 2
tmux -L "$socket" send-keys -t "$session" C-c
wait_for "[test-time exited with"
save "first run, interrupted at question 3"
s="$(screen)"
grep -qF "[test-time exited with 130]" <<<"$s" || fail "Ctrl-C did not exit with 130"
grep -qF "Welcome to test-time" <<<"$s" || fail "no first-run setup"
grep -qF -- "$key" <<<"$s" && fail "the API key is visible on the screen"
grep -qF "\"zz\" is not an answer to this question" <<<"$s" || fail "invalid answer not re-asked"
grep -qF "Interrupted: nothing was sent." <<<"$s" || fail "Ctrl-C does not say that nothing was sent"
grep -qF "test-time submit operating-systems test01 --draft" <<<"$s" || fail "Ctrl-C does not say how to resend"
grep -qE "Due .* CET" <<<"$s" || fail "the deadline does not name its zone"
[ -f "$home/.config/ework/test-time.conf" ] || fail "first-run config not saved"
[ "$(stat -c %a "$home/.config/ework/test-time.conf")" = 600 ] || fail "config file is not mode 0600"
[ -f "$draft" ] || fail "no draft kept after Ctrl-C"
[ "$(stat -c %a "$draft")" = 600 ] || fail "the draft is not mode 0600"
tmux -L "$socket" kill-session -t first

# ---- 2. a narrow terminal: the draft resumed at question 3, n asked about, submitted
width=40
start narrow "$width" "'$bin/test-time'"
wait_for "Resume them? [Y/n]"; type_line "y"
wait_for "Question 3/$count"
for ((i = 2; i < count; i++)); do
  wait_for "Question $((i + 1))/$count"
  type_line "$(first "$i")"
done
wait_for "Submit?"; type_line "n"
wait_for "[y/N]"; type_line "n"                        # not quitting after all
wait_for "Submit?" 2; type_line "y"
wait_for "[test-time exited with"
save "narrow terminal ($width columns): resumed and submitted"
s="$(screen)"
grep -qF "[test-time exited with 0]" <<<"$s" || fail "the resumed test was not submitted"
grep -qF "You have unsent answers:" <<<"$s" || fail "the draft was not offered"
grep -qF "Question 1/$count" <<<"$s" && fail "the resumed test started again at question 1"
grep -qF "$count answered, 0 skipped" <<<"$s" || fail "review does not count all $count answers"
grep -qF "Submitted at" <<<"$s" || fail "no submission time"
grep -qE "Receipt: sha256 [0-9a-f]{12}" <<<"$s" || fail "no receipt hash"
[ -f "$draft" ] && fail "the draft is still there after the answers were stored"
narrow_screen="$s"
tmux -L "$socket" kill-session -t narrow

# ---- 3. the listing in the same narrow terminal
start listing "$width" "'$bin/test-time' list"
wait_for "[test-time exited with"
save "narrow terminal ($width columns): test-time list"
s="$(screen)"
grep -qF "[test-time exited with 0]" <<<"$s" || fail "test-time list failed"
grep -qF "operating-systems / test01: submitted" <<<"$s" || fail "the narrow listing is not one block per test"
grep -qE "CET" <<<"$s" || fail "the listing does not name the zone"

# Nothing test-time printed in the narrow terminal is wider than it (a CJK
# character counts as two columns).
printf '%s\n%s\n' "$narrow_screen" "$s" | python3 -c '
import sys, unicodedata
width = int(sys.argv[1])
wide = [l for l in sys.stdin.read().splitlines()
        if sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in l) > width]
if wide:
    print("lines wider than %d columns:" % width, *wide, sep="\n", file=sys.stderr)
    sys.exit(1)
' "$width" || fail "text not wrapped to the terminal"

echo "---- captured screens ($screen_file) ----"
cat "$screen_file"
echo "---- end of screens ----"
echo "test-time screen check passed"
