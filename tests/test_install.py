"""A newcomer's first run: the README's run command on a clean copy, in a fresh virtualenv.

It installs the project from its own files, seeds, serves on loopback (scheduler on, so the
bundled offline archive is polled), and the test reads what a newcomer would look at.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def readme_run_command() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- run-command -->\s*```(?:sh|bash)\n(.+?)\n```", text, re.S)
    assert match, "README.md must show the run command under <!-- run-command -->"
    return match.group(1).strip()


def clean_copy(target: Path) -> None:
    """The tracked files as a clean checkout has them (no .venv, no databases)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed to list the tracked files")
def test_readme_first_run_serves_seeds_and_suggestions(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    clean_copy(checkout)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORECASTS_", "VIRTUAL_ENV"))}
    env["FORECASTS_PORT"] = str(port)
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        readme_run_command(),
        shell=True,
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        health = wait_until(
            lambda: httpx.get(f"{base}/healthz", timeout=2).json(),
            600,
            "/healthz (install, seed and start)",
            interval=0.5,
            ignore=(httpx.HTTPError,),
        )
        assert health == {"status": "ok", "database": "ok", "scheduler": "running"}
        page = httpx.get(f"{base}/api/questions?tag=almonitor-2015").json()
        assert page["total"] == 8
        titles = {q["id"]: q["title"] for q in page["items"]}
        assert httpx.get(f"{base}/docs").status_code == 200

        def suggested_questions() -> set[int]:
            items = httpx.get(f"{base}/api/suggestions?limit=1000", timeout=5).json()["items"]
            return {s["question_id"] for s in items}

        # The seed article's three named claims are its first three questions.
        named = {
            qid
            for qid, title in titles.items()
            if re.search(
                r"US and Russia announce|Iran-backed militias|publicly and "
                r"officially clash",
                title,
            )
        }
        assert len(named) == 3, titles
        wait_until(
            lambda: named <= suggested_questions(),
            120,
            "suggestions for the three named claims",
            interval=0.5,
            ignore=(httpx.HTTPError,),
        )
        assert "Created an admin token" in (tmp_path / "serve.log").read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
