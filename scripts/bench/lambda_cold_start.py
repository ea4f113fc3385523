"""Cold start and peak memory of each Lambda binary, through a minimal Lambda
Runtime API emulator on 127.0.0.1.

For each function: start the bootstrap binary with AWS_LAMBDA_RUNTIME_API pointing
here, hand it one event from functions/<name>/events/ (API Gateway events; the
scorer's schedule event `{}`, which finds no closed test in the seeded bucket, so
it measures start-up, lease and catalog read, not grading), and measure the
time from process start to its response, and its peak RSS (VmHWM) after answering.
Backed by moto S3 (EWORK_MOTO_URL), seeded like the Lambda runtime check.

Usage: lambda_cold_start.py BIN_DIR [RUNS]
  BIN_DIR holds <name>/bootstrap (cargo lambda build --release) or <name> binaries.
"""
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

FUNCTIONS = {
    "list-tests": "functions/list-tests/events/list-tests.json",
    "get-test": "functions/get-test/events/get-test.json",
    "upload-answers": "functions/upload-answers/events/upload-answers.json",
    "scorer": "functions/scorer/events/schedule.json",
}


class Emulator(http.server.BaseHTTPRequestHandler):
    event = b"{}"
    handed_out = False
    response = None
    done = threading.Event()

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/invocation/next"):
            self.send_error(404)
            return
        cls = type(self)
        if cls.handed_out:
            cls.done.wait(30)
            time.sleep(30)  # the process is killed before this returns
            return
        cls.handed_out = True
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-central-1:123456789012:function:bench")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(cls.event)))
        self.end_headers()
        self.wfile.write(cls.event)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        cls = type(self)
        cls.response = (self.path, body, time.perf_counter())
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        cls.done.set()


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def one_run(binary, event, env):
    class Handler(Emulator):
        pass

    Handler.event = event
    Handler.handed_out = False
    Handler.response = None
    Handler.done = threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    start = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ok = Handler.done.wait(30)
    rss = peak_rss_kib(proc.pid) if ok and proc.poll() is None else 0
    proc.kill()
    _, err = proc.communicate()
    server.shutdown()
    if not ok:
        raise SystemExit(f"{binary} did not answer: {err.decode()[-2000:]}")
    path, body, end = Handler.response
    if not path.endswith("/response"):
        raise SystemExit(f"{binary} reported an error: {body[:500]}")
    answer = json.loads(body)
    status = answer.get("statusCode", "ok") if isinstance(answer, dict) else "ok"
    return (end - start) * 1000, rss, status


def main():
    bin_dir = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = f"ework-bench-{os.getpid()}"
    subprocess.run([sys.executable, "scripts/lambda/seed_moto.py", bucket], check=True)
    env = dict(os.environ, EWORK_BUCKET=bucket, AWS_ENDPOINT_URL=os.environ["EWORK_MOTO_URL"],
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="eu-central-1",
               AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
               AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_FORMAT="JSON",
               EWORK_SENDER="scorer@bench.example.com", EWORK_TRAINER_EMAIL="trainer@bench.example.com",
               EWORK_SEND_RATE="14")
    print(f"{'function':<16} {'cold start p50 ms':>18} {'max ms':>8} {'peak RSS MiB':>13} {'status':>7} {'zip KiB':>8}")
    for name, event_file in FUNCTIONS.items():
        binary = os.path.join(bin_dir, name, "bootstrap")
        if not os.path.exists(binary):
            binary = os.path.join(bin_dir, name)
        zip_path = os.path.join(bin_dir, name, "bootstrap.zip")
        zip_kib = os.path.getsize(zip_path) // 1024 if os.path.exists(zip_path) else "-"
        event = open(event_file, "rb").read()
        results = [one_run(binary, event, env) for _ in range(runs)]
        times = [r[0] for r in results]
        rss = max(r[1] for r in results) / 1024
        print(f"{name:<16} {statistics.median(times):>18.1f} {max(times):>8.1f} {rss:>13.1f} {results[-1][2]:>7} {zip_kib:>8}")


if __name__ == "__main__":
    main()
