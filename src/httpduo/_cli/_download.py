"""--download FILE: stream the body to disk with a progress bar.

Rules:
- The body is never held in memory: each chunk is written as it arrives.
- An existing FILE is refused (exit 23) unless --force; the check happens before the
  request is sent and again before the file is put in place.
- The body goes to a hidden temporary file in FILE's directory, renamed over FILE only
  once complete: a failed or interrupted download leaves no partial file behind and does
  not destroy a file that --force would have replaced.
- The progress bar (bytes, rate, ETA; indeterminate without Content-Length) is drawn on
  stderr only when stderr is a terminal; it counts bytes as received on the wire, which is
  what Content-Length measures. A one-line summary always follows, on stderr.
- What is saved is the body after Content-Encoding decoding, as on stdout.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from typing import IO, Optional

from rich import filesize
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    Task,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

import httpduo

from ._errors import WRITE, CliError
from ._render import Output

__all__ = ["check_target", "download"]


def check_target(path: str, *, force: bool) -> None:
    """Refuse a download target that cannot or may not be written."""
    if os.path.isdir(path):
        raise CliError(f"cannot download to {path}: it is a directory", WRITE)
    if os.path.lexists(path) and not force:
        raise CliError(f"{path} already exists; use --force to overwrite it", WRITE)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CliError(f"cannot download to {path}: no directory {directory}", WRITE)


def _expected_size(response: httpduo.Response) -> Optional[int]:
    value = response.headers.get("content-length")
    if value is None or not value.isdigit():
        return None
    return int(value)


class _Speed(TransferSpeedColumn):
    """The live rate, then the average rate once the download is complete.

    (Giving a task its total at the end, as an indeterminate download needs, makes rich
    forget its rate samples.)
    """

    def render(self, task: Task) -> Text:
        average = task.fields.get("average_speed")
        if average is None:
            return super().render(task)
        return Text(f"{filesize.decimal(int(average))}/s", style="progress.data.speed")


def _copy_with_progress(
    response: httpduo.Response, file: IO[bytes], label: str, output: Output
) -> int:
    written = 0
    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        _Speed(),
        TimeRemainingColumn(),
        console=output.err,
    )
    started = time.monotonic()
    with progress:
        task = progress.add_task(label, total=_expected_size(response))
        for chunk in response.iter_bytes():
            file.write(chunk)
            written += len(chunk)
            progress.update(task, completed=response.num_bytes_downloaded)
        received = response.num_bytes_downloaded
        elapsed = max(time.monotonic() - started, 1e-6)
        progress.update(task, total=received, completed=received, average_speed=received / elapsed)
    return written


def _copy(response: httpduo.Response, file: IO[bytes]) -> int:
    written = 0
    for chunk in response.iter_bytes():
        file.write(chunk)
        written += len(chunk)
    return written


def _hold_sigint() -> bool:
    """Block SIGINT in this thread where the platform can (POSIX); True if it did."""
    if not hasattr(signal, "pthread_sigmask"):
        return False
    return signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _release_sigint(held: bool) -> None:
    if held:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def download(response: httpduo.Response, path: str, *, force: bool, output: Output) -> int:
    """Save the body to `path`; returns the number of bytes saved."""
    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    temporary: Optional[str] = None
    # Ctrl-C while mkstemp has made the file but not yet named it to us would leave the
    # file behind (seen on a loaded machine): SIGINT waits until the name is known, and
    # is raised, if it came, where the handlers below remove the file.
    held = _hold_sigint()
    try:
        try:
            descriptor, temporary = tempfile.mkstemp(
                prefix=f".{name}.", suffix=".part", dir=directory
            )
        except OSError as exc:
            raise CliError(f"cannot write {path}: {exc.strerror or exc}", WRITE) from None
        finally:
            _release_sigint(held)
        with os.fdopen(descriptor, "wb") as file:
            if output.err_is_terminal:
                written = _copy_with_progress(response, file, name, output)
            else:
                written = _copy(response, file)
        # mkstemp makes the file private; give it the mode a plain open() would have.
        os.chmod(temporary, 0o666 & ~_umask())
        if os.path.lexists(path) and not force:
            raise CliError(f"{path} already exists; use --force to overwrite it", WRITE)
        os.replace(temporary, path)
    except OSError as exc:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise CliError(f"cannot write {path}: {exc.strerror or exc}", WRITE) from None
    except BaseException:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise
    output.note(f"Saved {written:,} bytes to {path}")
    return written
