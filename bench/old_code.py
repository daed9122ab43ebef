"""The code before the runtime's rework, measured in the same run as today's.

`make bench` compares today's scan to screen with the old code's, on the same machine at the
same time: the old commit is extracted (`git archive`, read-only on the repository) into a
temporary folder, its catalogues compiled, and that commit's own `bench/scan_to_screen.py`
is run from there with this venv's Python, its working directory and PYTHONPATH the
extracted folder so that it imports the old `kiosk` package, not this one. When git or the
commit is not there (a tarball without history), `OldCode.open` says why and the bench
carries on without the old-code figures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# The last commit before the runtime's rework (issue 17): "today's" code in the issue that
# asks for a median under 20 ms and a p99 under 35 ms (its own bench/scan_to_screen.py
# measured 36.7 ms and 52.5 ms). Another commit: scan_to_screen.py --old-commit REV.
BASELINE_COMMIT = "976df83"

SCRIPT = Path("bench") / "scan_to_screen.py"  # inside the extracted commit
RESULT = Path("bench") / "results" / "scan_to_screen.json"  # where that script writes
OPTIONS = ("--items", "--seed")  # what we pass it: checked against its --help
RUN_TIMEOUT = 900.0  # s; one run of the old script (its own step timeout is 10 s a scan)


class Skipped(Exception):
    """The old code cannot be measured here: the message says why, in a sentence."""


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@dataclass
class OldCode:
    """One commit extracted into a temporary folder, ready to run its scan_to_screen.py."""

    commit: str  # as asked for (short)
    full: str  # the full hash
    folder: Path
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, commit: str = BASELINE_COMMIT, repo: Path = ROOT) -> OldCode:
        """Extract `commit` of `repo`; raises Skipped when it cannot be."""
        for tool in ("git", "tar"):
            if shutil.which(tool) is None:
                raise Skipped(f"{tool} is not installed")
        found = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if found.returncode != 0:
            raise Skipped(
                f"commit {commit} is not in {repo} (not a git repository, or a copy without "
                "its history)"
            )
        tmp = tempfile.TemporaryDirectory(prefix="kiosk-bench-old-")
        folder = Path(tmp.name)
        try:
            _archive(repo, commit, folder)
            if not (folder / SCRIPT).is_file():
                raise Skipped(f"commit {commit} has no {SCRIPT}")
            old = cls(commit, found.stdout.strip(), folder, tmp)
            old._check_imports()
            old._check_options()
            old._compile_catalogues()
        except BaseException:
            tmp.cleanup()
            raise
        return old

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> OldCode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Running it.

    def env(self) -> dict[str, str]:
        """This environment, with PYTHONPATH the extracted folder only (a PYTHONPATH of
        ours must not bring today's kiosk back)."""
        return {**os.environ, "PYTHONPATH": str(self.folder)}

    def _python(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=self.folder,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )

    def run(self, items: int, seed: int) -> dict[str, Any]:
        """One run of the old commit's scan_to_screen.py; its JSON result."""
        result = self.folder / RESULT
        result.unlink(missing_ok=True)  # never read a previous round's
        done = self._python(
            str(SCRIPT), "--items", str(items), "--seed", str(seed), timeout=RUN_TIMEOUT
        )
        if done.returncode != 0 or not result.is_file():
            raise RuntimeError(
                f"the old code's {SCRIPT} failed (exit status {done.returncode}):\n"
                + _tail(done.stderr or done.stdout)
            )
        data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
        return data

    # Checks before the first run.

    def _check_imports(self) -> None:
        """The extracted folder's kiosk is the one imported, not this venv's editable one."""
        done = self._python("-c", "import kiosk; print(kiosk.__file__)")
        where = Path(done.stdout.strip() or "?").resolve()
        if done.returncode != 0 or not where.is_relative_to(self.folder.resolve()):
            raise Skipped(
                f"the old code's kiosk package is not the one imported (got {where}): "
                + _tail(done.stderr, 3)
            )

    def _check_options(self) -> None:
        done = self._python(str(SCRIPT), "--help")
        missing = [o for o in OPTIONS if o not in done.stdout]
        if done.returncode != 0 or missing:
            raise Skipped(
                f"the old code's {SCRIPT} does not take {', '.join(missing) or 'its options'}"
            )

    def _compile_catalogues(self) -> None:
        """What `make catalogues` does (compiled catalogues are never committed). Without
        them the old app still runs, untranslated: a warning, not a reason to skip."""
        done = self._python(
            "-m",
            "babel.messages.frontend",
            "-q",
            "compile",
            "-D",
            "kiosk",
            "-d",
            str(Path("kiosk") / "locale"),
        )
        if done.returncode != 0:
            print(
                "warning: the old code's catalogues were not compiled: " + _tail(done.stderr, 3),
                file=sys.stderr,
            )


def _archive(repo: Path, commit: str, into: Path) -> None:
    """`git -C repo archive commit | tar -x -C into`."""
    with subprocess.Popen(
        ["git", "-C", str(repo), "archive", commit], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as git:
        tar = subprocess.run(
            ["tar", "-x", "-C", str(into)],
            stdin=git.stdout,
            capture_output=True,
            check=False,
        )
        assert git.stdout is not None and git.stderr is not None
        git.stdout.close()
        git_errors = git.stderr.read()
    if git.returncode != 0 or tar.returncode != 0:
        errors = (git_errors or tar.stderr).decode(errors="replace")
        raise Skipped(f"git archive {commit} | tar -x failed: {_tail(errors, 3)}")
