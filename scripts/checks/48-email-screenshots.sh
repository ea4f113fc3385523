#!/usr/bin/env bash
# The scorer's emails as a reader sees them: render the HTML parts of a sample pass
# (the trainer's report with its item analysis, a student's one-test and two-test
# email; from the depth sample: a result with multiple-answer, partly correct
# questions worth several points whose answers are withheld, a late result with its
# penalty, the answers that follow, a corrected result) in headless Chromium at desktop (900 px) and phone (380 px) width, keep the
# screenshots under $CARGO_TARGET_DIR/screenshots/ for review, and fail when
# anything is wider than the page (a table that would scroll sideways on a phone).
# Skips, saying so, when Chromium is not installed (Debian: apt-get install chromium).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
chromium="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$chromium" ]; then
  echo "SKIP email screenshots: no chromium on PATH (Debian: apt-get install -y chromium)"
  exit 0
fi
target="${CARGO_TARGET_DIR:-$root/target}"
shots="$target/screenshots"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$shots"
cargo run -q -p ework-domain --example email-html -- "$work" >/dev/null

# Root needs --no-sandbox; a profile of its own keeps runs apart.
run_chromium() {
  timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$work/profile" "$@" 2>/dev/null
}

# Lays the page out at a given width (Chromium's headless window is at least 500
# px wide, so the page itself is set to the width) and names the widest element.
probe='<script>
window.addEventListener("load", function () {
  var w = parseInt(location.hash.slice(1), 10), right = 0, who = "";
  document.documentElement.style.width = w + "px";
  document.querySelectorAll("body *").forEach(function (e) {
    var r = Math.ceil(e.getBoundingClientRect().right);
    if (r > right) { right = r; who = e.tagName + " " + e.textContent.slice(0, 50); }
  });
  document.title = "widest " + right + " of " + w + ": " + who;
});
</script>'

failed=0
for page in report student student-two-tests \
  student-withheld student-late student-answers student-corrected; do
  python3 - "$work/$page.html" "$work/$page-probe.html" "$probe" <<'PY'
import sys
html = open(sys.argv[1], encoding="utf-8").read()
assert "</body>" in html, sys.argv[1]
open(sys.argv[2], "w", encoding="utf-8").write(html.replace("</body>", sys.argv[3] + "</body>"))
PY
  height=2000
  [ "$page" = report ] && height=3200
  for width in 900 380; do
    png="$shots/$page-$width.png"
    run_chromium --window-size="$width,$height" --screenshot="$png" "file://$work/$page.html" >/dev/null
    [ -s "$png" ] || { echo "no screenshot $png" >&2; failed=1; continue; }
    title="$(run_chromium --window-size="$width,$height" --dump-dom "file://$work/$page-probe.html#$width" |
      tr '\n' ' ' | sed -n 's:.*<title>\(widest [^<]*\)</title>.*:\1:p')"
    widest="$(printf '%s' "$title" | awk '{print $2}')"
    if [ -z "$widest" ] || [ "$widest" -gt "$width" ]; then
      echo "$page at $width px: ${title:-no layout measured}" >&2
      failed=1
    else
      echo "$page at $width px: fits ($title)"
    fi
  done
done
[ "$failed" = 0 ] || { echo "email layout check failed; screenshots in $shots" >&2; exit 1; }
echo "screenshots in $shots"
