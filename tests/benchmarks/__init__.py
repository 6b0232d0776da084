"""The performance benchmark: `python -m tests.benchmarks.run` (`make bench`).

Raw httpx and inferlink against one fast local server (server.py), each measurement in a fresh process
(worker.py), the two interleaved; the table goes to stdout and to RESULTS.md. No file here matches pytest's
test_*.py pattern, so `make test` never collects it.
"""
