"""Real local servers as child processes: llama.cpp (llama-cpp-python's server) and the LiteLLM proxy, each from its
own virtualenv under .venv-servers/ (made by `make servers`). Used by the live tests' fixtures and by
examples/demo.py.

Every server listens on a free 127.0.0.1 port, runs in its own process group with its output in a log file, is
polled over HTTP until it answers (a timeout, and the log in the error when it dies or never gets ready), and is
stopped by its PID: SIGTERM, then SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
SERVERS = ROOT / ".venv-servers"
LLAMA_PYTHON = SERVERS / "llama" / "bin" / "python"
LITELLM_BIN = SERVERS / "litellm" / "bin" / "litellm"
LLAMA_STAMP = SERVERS / "llama" / ".installed"
LITELLM_STAMP = SERVERS / "litellm" / ".installed"

HOST = "127.0.0.1"
LOG_TAIL = 6000  # characters of a server's log shown in an error


class ServerStartError(RuntimeError):
    """A server could not be started, died, or never became ready. The message ends with its log."""


def missing(*paths: Path) -> list[Path]:
    """Which of these server installs (stamp files or executables) are absent."""
    return [p for p in paths if not p.exists()]


def free_port() -> int:
    """A TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """One server process. `start()` returns once `ready_path` answers 200 (or raises ServerStartError)."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    ready_path: str = "/v1/models"
    api_key: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def log(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self) -> str:
        text = self.log()
        return text if len(text) <= LOG_TAIL else "...\n" + text[-LOG_TAIL:]

    def _fail(self, what: str) -> ServerStartError:
        return ServerStartError(f"{self.name}: {what}\ncommand: {' '.join(self.argv)}\n"
                           f"--- log ({self.log_path}) ---\n{self.log_tail()}")

    def start(self, timeout: float) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", **self.env}
        try:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
        except OSError as error:
            self._log.close()
            raise self._fail(f"could not start ({error})") from error
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        headers = {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = self.base_url + self.ready_path
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        with httpx.Client(timeout=2.0) as http:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise self._fail(f"exited with status {code} before it was ready")
                try:
                    response = http.get(url, headers=headers)
                    if response.status_code == 200:
                        return
                    last = f"GET {self.ready_path} answered {response.status_code}: {response.text[:300]}"
                except httpx.HTTPError as error:
                    last = f"GET {self.ready_path}: {type(error).__name__}"
                if time.monotonic() > deadline:
                    raise self._fail(f"not ready after {timeout:.0f} s ({last})")
                time.sleep(0.2)

    def stop(self, grace: float = 10.0) -> None:
        """Stop the process by its PID: SIGTERM, then SIGKILL after `grace` seconds. Idempotent."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(grace)
        if self._log is not None:
            self._log.close()
            self._log = None

    def check_alive(self) -> None:
        """Raise ServerStartError (with the log) when the process has died."""
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise self._fail(f"is not running (exit status {code})")


def llama_server(model: Path, log_path: Path, *, api_key: str | None = None, port: int | None = None) -> Server:
    """llama-cpp-python's OpenAI-compatible server on `model`, with embeddings on (not started yet)."""
    port = port or free_port()
    argv = [str(LLAMA_PYTHON), "-m", "llama_cpp.server", "--model", str(model), "--host", HOST, "--port", str(port),
            "--n_ctx", "512", "--embedding", "true", "--verbose", "false"]
    if api_key:
        argv += ["--api_key", api_key]
    return Server("llama.cpp server", argv, port, log_path, api_key=api_key)


def write_litellm_config(path: Path, *, master_key: str, models: list[dict[str, Any]]) -> Path:
    """A LiteLLM proxy config. JSON is YAML, so no YAML library is needed to write it. The proxy itself does not
    retry or cool deployments down, so every attempt the client makes reaches the model exactly once."""
    config = {
        "model_list": models,
        "router_settings": {"num_retries": 0, "disable_cooldowns": True},
        "litellm_settings": {"num_retries": 0, "request_timeout": 60},
        "general_settings": {"master_key": master_key},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def litellm_proxy(config: Path, log_path: Path, *, master_key: str, port: int | None = None) -> Server:
    """The LiteLLM proxy on `config` (not started yet). It reads its model price map from the installed package
    instead of fetching it (no network here; that fetch retries for seconds)."""
    port = port or free_port()
    argv = [str(LITELLM_BIN), "--config", str(config), "--host", HOST, "--port", str(port)]
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False"}
    return Server("LiteLLM proxy", argv, port, log_path, api_key=master_key, env=env)
