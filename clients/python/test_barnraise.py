"""Tests of barnraise.py against a real master with a headless worker (BARNRAISE_URL, BARNRAISE_TOKEN).

client/test/python.test.ts starts both and runs `python3 -m unittest` here; without the variables every test
is skipped."""
import math
import os
import socket
import threading
import unittest
import urllib.parse
import uuid

import barnraise
from barnraise import ApiError, Client, TaskError

CONFIGURED = bool(os.environ.get("BARNRAISE_URL") and os.environ.get("BARNRAISE_TOKEN"))
SQUARE = "export default (n) => n * n"
# Index 0 takes 600 ms, the rest 5 ms: tasks end out of index order.
SLOW_FIRST = "export default async (n) => { await new Promise((r) => setTimeout(r, n === 0 ? 600 : 5)); return n * n; }"
SLOW = "export default async (n) => { await new Promise((r) => setTimeout(r, 50)); return n; }"
THROWS_ON_3 = "export default (n) => { if (n % 3 === 0) throw new RangeError('no multiples of 3: ' + n); return -n; }"


def collatz_steps(n, ctx):
    """A plain function sent as a Python job by client.map (rule Y1): its source, not its bytecode, travels."""
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return {"index": ctx.index, "steps": steps, "root": math.isqrt(steps)}


class CutProxy:
    """A TCP proxy on loopback to the master whose connections a test cuts for real."""

    def __init__(self, target_url: str) -> None:
        target = urllib.parse.urlsplit(target_url)
        self.target = (target.hostname, target.port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.open: list = []
        self.cuts = 0
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.connections += 1
            self.open.append((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut_all(self) -> None:
        self.cuts += 1
        for client, upstream in self.open:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.open.clear()

    def close(self) -> None:
        self.cut_all()
        self.server.close()


@unittest.skipUnless(CONFIGURED, "set BARNRAISE_URL and BARNRAISE_TOKEN to a master with a volunteer")
class ClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.client = Client()

    def test_map_returns_outputs_in_input_order(self) -> None:
        self.assertEqual(self.client.map(SLOW_FIRST, range(30)), [n * n for n in range(30)])

    def test_map_of_a_python_function_runs_it_as_a_python_job(self) -> None:
        def steps(n: int) -> int:
            return collatz_steps(n, type("Ctx", (), {"index": 0})())["steps"]

        got = self.client.map(collatz_steps, range(1, 21))
        self.assertEqual([g["steps"] for g in got], [steps(n) for n in range(1, 21)])
        self.assertEqual([g["index"] for g in got], list(range(20)))
        self.assertEqual([g["root"] for g in got], [math.isqrt(steps(n)) for n in range(1, 21)])

    def test_a_function_defined_inside_another_is_refused_before_anything_is_sent(self) -> None:
        def local(n):
            return n

        with self.assertRaisesRegex(TypeError, "top level"):
            self.client.map(local, [1])
        with self.assertRaisesRegex(TypeError, "plain function"):
            self.client.map(lambda n: n, [1])

    def test_map_raises_the_first_failed_task_in_input_order(self) -> None:
        with self.assertRaises(TaskError) as caught:
            self.client.map(THROWS_ON_3, range(1, 10), max_attempts=1)
        err = caught.exception
        self.assertEqual((err.code, err.index, err.message), ("TASK_FAILED", 2, "RangeError: no multiples of 3: 3"))
        self.assertEqual(err.attempts, 1)

    def test_map_with_return_exceptions_puts_task_errors_in_place(self) -> None:
        got = self.client.map(THROWS_ON_3, range(9), return_exceptions=True, max_attempts=2)
        for n, out in enumerate(got):
            if n % 3:
                self.assertEqual(out, -n)
            else:
                self.assertIsInstance(out, TaskError)
                self.assertEqual((out.index, out.message, out.attempts), (n, f"RangeError: no multiples of 3: {n}", 2))

    def test_as_completed_gives_each_task_once_as_it_ends_and_results_in_order(self) -> None:
        job = self.client.submit(SLOW_FIRST, range(30), name="python as_completed")
        order = [line["index"] for line in job.as_completed()]
        self.assertNotEqual(order[0], 0, "a fast task comes before the slow index 0")
        self.assertEqual(sorted(order), list(range(30)))
        lines = list(job.results())
        self.assertEqual(lines, [{"index": n, "status": "done", "output": n * n} for n in range(30)])

    def test_a_followed_stream_that_drops_resumes_with_nothing_repeated_or_missed(self) -> None:
        code = "export default async (n) => { if (n >= 100) await new Promise((r) => setTimeout(r, 20)); return 'x'.repeat(500) + n; }"
        job = self.client.submit(code, range(200))
        proxy = CutProxy(self.client.url)
        try:
            via_proxy = Client(proxy.url, self.client.token).job(job.id)
            seen = []
            for line in via_proxy.as_completed():
                seen.append(line)
                if len(seen) in (50, 150):
                    proxy.cut_all()
            self.assertEqual(proxy.cuts, 2)
            # urllib opens a connection per request: the first read, one after each cut (and a summary or two).
            self.assertGreaterEqual(proxy.connections, 3)
            self.assertEqual(sorted(line["index"] for line in seen), list(range(200)))
            for line in seen:
                self.assertEqual(line, {"index": line["index"], "status": "done", "output": "x" * 500 + str(line["index"])})
        finally:
            proxy.close()

    def test_a_stream_silent_while_long_tasks_run_is_waited_on_not_given_up(self) -> None:
        saved = barnraise._STREAM_IDLE_S, barnraise._MAX_FRUITLESS
        # Reads time out many times while the task runs, far more than the reconnections a dead stream gets.
        barnraise._STREAM_IDLE_S, barnraise._MAX_FRUITLESS = 0.2, 2
        try:
            job = self.client.submit("export default async (n) => { await new Promise((r) => setTimeout(r, 3000)); return n; }", [7])
            self.assertEqual(list(job.as_completed()), [{"index": 0, "status": "done", "output": 7}])
        finally:
            barnraise._STREAM_IDLE_S, barnraise._MAX_FRUITLESS = saved

    def test_leaving_a_with_block_cancels_an_unfinished_job(self) -> None:
        with self.client.submit(SLOW, range(200)) as job:
            for line in job.as_completed():
                break
        summary = job.get()
        self.assertEqual(summary["status"], "cancelled")
        self.assertLess(summary["counts"]["done"], 200)

    def test_a_finished_job_is_not_cancelled_on_leaving_the_block(self) -> None:
        with self.client.submit(SQUARE, range(5)) as job:
            self.assertEqual([line["output"] for line in job.results()], [0, 1, 4, 9, 16])
        self.assertEqual(job.get()["status"], "completed")

    def test_progress_wait_and_cancel(self) -> None:
        job = self.client.submit("export default async (n) => { await new Promise((r) => setTimeout(r, 20)); return n; }", range(60))
        reports = list(job.progress(interval=0.2))
        self.assertEqual(reports[-1]["finished"], True)
        self.assertEqual((reports[-1]["done"], reports[-1]["total"], reports[-1]["eta_seconds"]), (60, 60, 0.0))
        self.assertTrue(any(r["tasks_per_second"] > 0 for r in reports))
        self.assertEqual(job.wait()["status"], "completed")
        slow = self.client.submit(SLOW, range(200))
        self.assertEqual(slow.cancel()["status"], "cancelled")
        self.assertEqual(slow.wait()["status"], "cancelled")

    def test_the_same_idempotency_key_gives_back_the_same_job(self) -> None:
        key = str(uuid.uuid4())
        first = self.client.submit(SQUARE, [1, 2], idempotency_key=key)
        second = self.client.submit(SQUARE, [1, 2], idempotency_key=key)
        self.assertEqual(first.id, second.id)

    def test_upload_asset_stores_a_file_once_and_a_job_reads_it(self) -> None:
        import hashlib
        import tempfile
        words = ("alpha beta gamma " * 50000).encode()
        with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as f:
            f.write(words)
        try:
            sha = self.client.upload_asset(f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(sha, hashlib.sha256(words).hexdigest())
        self.assertTrue(self.client.has_asset(sha))
        self.assertEqual(self.client.upload_asset(words), sha)
        code = "export default (i, ctx) => ctx.assets.text('words').split(' ')[i] + ':' + ctx.assets.bytes('words').length"
        self.assertEqual(self.client.map(code, [0, 2], assets={"words": sha}), [f"alpha:{len(words)}", f"gamma:{len(words)}"])
        with self.assertRaises(ApiError) as caught:
            self.client.submit(code, [0], assets={"words": "0" * 64})
        self.assertEqual((caught.exception.status, caught.exception.code), (422, "UNKNOWN_ASSET"))
        self.assertFalse(self.client.has_asset("0" * 64))

    def test_api_errors_carry_the_literal_code(self) -> None:
        with self.assertRaises(ApiError) as caught:
            self.client.job("j_nosuchjob").get()
        self.assertEqual((caught.exception.status, caught.exception.code), (404, "JOB_NOT_FOUND"))
        with self.assertRaises(ApiError) as bad:
            Client(token="wrong").jobs()
        self.assertEqual(bad.exception.code, "UNAUTHORIZED")
        self.assertGreaterEqual(self.client.stats()["volunteers"], 1)
        job = self.client.submit(SQUARE, [3], name="python listed")
        self.assertIn(job.id, [j["id"] for j in self.client.jobs(limit=5)])


if __name__ == "__main__":
    unittest.main()
