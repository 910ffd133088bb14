"""HighFive's example master (examples/add_master.py), ported to Barnraise's Python client.

HighFive's master handed AddTask(i, i + 1) for i in range(100) to connected workers and printed each sum
as the results came back, in order. Here the worker's half (AddWorker: read a and b, send back a + b)
becomes the job's code, which volunteers run in their browsers or in `barnraise worker`, and the master's
half is this script.

    python3 examples/highfive/add_master.py      # BARNRAISE_URL / BARNRAISE_TOKEN, or the `npm start` master
    python3 examples/highfive/add_master.py --python   # the task written in Python: browsers run it on Pyodide
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))

from barnraise import BarnraiseError, Client  # noqa: E402  (found through the path above)

# AddWorker.run, as a job: a task's input is {"a": ..., "b": ...}, its output their sum.
ADD = "export default ({ a, b }) => a + b"


def add(task):
    """AddWorker.run in Python, as HighFive's users wrote it: with --python its source is the job (rule Y1)."""
    return task["a"] + task["b"]


def connect() -> Client:
    """The master the `barnraise` CLI would use: BARNRAISE_URL and BARNRAISE_TOKEN, else the local one `npm
    start` runs and the token it saved in ./data/operator-token."""
    url = os.environ.get("BARNRAISE_URL") or "http://127.0.0.1:8080"
    token = os.environ.get("BARNRAISE_TOKEN")
    token_file = os.path.join(os.environ.get("BARNRAISE_DATA_DIR", "data"), "operator-token")
    if not token and os.path.exists(token_file):
        with open(token_file) as f:
            token = f.read().strip()
    return Client(url, token)


def main() -> int:
    client = connect()
    tasks = [{"a": i, "b": i + 1} for i in range(100)]
    failed = 0
    # Leaving the with block (Ctrl-C included) cancels the job if it has not ended.
    python = "--python" in sys.argv[1:]
    # Python tasks are slower than JavaScript ones: a longer time limit (the interpreter's start, about a
    # second on each volunteer thread, has a limit of its own).
    code, options = (add, {"name": "add (python)", "timeout_ms": 120_000}) if python else (ADD, {"name": "add"})
    with client.submit(code, tasks, **options) as job:
        for line in job.results():  # followed, in index order, as HighFive's p.results()
            t = tasks[line["index"]]
            if line["status"] == "done":
                print("{} + {} = {}".format(t["a"], t["b"], line["output"]), flush=True)
            else:
                failed += 1
                print("{} + {} failed: {}".format(t["a"], t["b"], line["error"]), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        sys.exit(130)
    except BarnraiseError as err:
        print("add_master: {}".format(err.message), file=sys.stderr)
        sys.exit(2)
