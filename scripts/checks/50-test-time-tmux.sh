#!/usr/bin/env bash
# Screen check of the students' client: starts the local stack, runs `test-time`
# in a real terminal (tmux), types a first-run setup and a whole test like a
# student would (a wrong answer, a skip, going back, review, submit), and checks
# what is on the screen. The screen is saved to target/test-time-screen.txt and printed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
command -v tmux >/dev/null || { echo "tmux is required for this check (apt-get install tmux)" >&2; exit 1; }

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
subjects = [s for s in json.loads(sys.argv[1]) if s["tests"]]
i = [s["subject"] for s in subjects].index("operating-systems")
tests = [t["testId"] for t in subjects[i]["tests"]]
print(i + 1 if len(subjects) > 1 else 0, tests.index("test01") + 1 if len(tests) > 1 else 0)
' "$listing")"
mapfile -t options < <(python3 -c '
import json, sys
for q in json.loads(sys.argv[1])["questions"]:
    print(" ".join(a["answerId"] for a in q["answers"]))
' "$test_json")
count="${#options[@]}"
[ "$count" -ge 3 ] || { echo "operating-systems/test01 should have at least 3 questions" >&2; exit 1; }

# A student's terminal: empty home (first run), local time in Warsaw.
home="$work/home"
mkdir -p "$home"
tmux -L "$socket" -f /dev/null new-session -d -s student -x 120 -y 50 \
  "env -u TEST_TIME_API_URL -u TEST_TIME_API_KEY -u TEST_TIME_STUDENT_ID -u NO_COLOR \
   HOME='$home' XDG_CONFIG_HOME='$home/.config' TZ=Europe/Warsaw '$bin/test-time'; \
   echo \"[test-time exited with \$?]\"; sleep 600"
tmux -L "$socket" set-option -t student history-limit 5000 >/dev/null

screen() { tmux -L "$socket" capture-pane -p -J -S - -t student; }
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
type_line() { tmux -L "$socket" send-keys -t student -l -- "$1"; tmux -L "$socket" send-keys -t student Enter; }

wait_for "API URL (from your trainer):"; type_line "$url"
wait_for "API key (input hidden):"; type_line "$key"
wait_for "Student id (e.g. student01):"; type_line "student01"
if [ "$subject_no" != 0 ]; then wait_for "Subject [1-"; type_line "$subject_no"; fi
if [ "$test_no" != 0 ]; then wait_for "Test [1-"; type_line "$test_no"; fi

first() { echo "${options[$1]}" | awk '{print $1}'; }
last() { echo "${options[$1]}" | awk '{print $NF}'; }
wait_for "Question 1/$count"; type_line "zz"
wait_for "is not an answer to this question"; type_line "$(first 0 | tr '[:lower:]' '[:upper:]')"
wait_for "Question 2/$count"; type_line ""              # skip
wait_for "Question 3/$count"; type_line "<"             # back to question 2
wait_for "Question 2/$count" 2; type_line "$(last 1)"
for ((i = 2; i < count; i++)); do
  n=$((i + 1))
  [ "$n" -eq 3 ] && wait_for "Question 3/$count" 2 || wait_for "Question $n/$count"
  type_line "$(first "$i")"
done
wait_for "Submit now?"; type_line "y"
wait_for "[test-time exited with"

screen >"$screen_file"
echo "---- captured screen ($screen_file) ----"
cat "$screen_file"
echo "---- end of screen ----"

fail() { echo "screen check failed: $*" >&2; exit 1; }
grep -qF "[test-time exited with 0]" "$screen_file" || fail "test-time did not exit with 0"
grep -qF "Welcome to test-time" "$screen_file" || fail "no first-run setup"
grep -qF -- "$key" "$screen_file" && fail "the API key is visible on the screen"
grep -qF "\"zz\" is not an answer to this question" "$screen_file" || fail "invalid answer not re-asked"
grep -qF "Review your answers" "$screen_file" || fail "no review screen"
grep -qF "$count answered, 0 skipped" "$screen_file" || fail "review does not count all $count answers"
grep -qF "Submitted at" "$screen_file" || fail "no submission time"
grep -qE "Receipt: sha256 [0-9a-f]{12}" "$screen_file" || fail "no receipt hash"
[ -f "$home/.config/ework/test-time.conf" ] || fail "first-run config not saved"
[ "$(stat -c %a "$home/.config/ework/test-time.conf")" = 600 ] || fail "config file is not mode 0600"
echo "test-time screen check passed"
