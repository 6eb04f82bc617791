"""Every expected failure, its exit code and its message, in one place.

Exit codes: 0 ok, 1 a step failed, 2 bad input (configuration, arguments, the stack graph),
3 drift found (`infra drift --fail-on-drift`), 128 + the signal when interrupted (see
`infra.runner.interrupts`). The engine's own errors derive from
`Failed` or `BadInput`; failures of the libraries and tools it drives (AWS, git, files)
are mapped here too. Anything else is a bug, and only a bug prints a traceback.
"""

from __future__ import annotations

import subprocess
import sys

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_DRIFT = 0, 1, 2, 3


class Failed(Exception):
    """A step failed (Terraform, checkov, AWS, GitHub, the emulator): exit 1."""

    exit_code = EXIT_FAILED


class BadInput(Failed):
    """What the user gave is wrong (configuration, an argument, a cycle): exit 2, nothing ran."""

    exit_code = EXIT_BAD_INPUT


class DriftFound(Failed):
    """The plan found changes made outside Terraform, and the caller asked to fail on it: exit 3."""

    exit_code = EXIT_DRIFT


def _aws_error(exc: BaseException) -> str | None:
    """botocore's errors (AccessDenied, no credentials, endpoint unreachable), when botocore
    is loaded at all (it is whenever one of its errors can have been raised)."""
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is None:
        return None
    expected = (
        botocore.ClientError,  # AccessDenied and every other refusal
        botocore.NoCredentialsError,
        botocore.PartialCredentialsError,
        botocore.CredentialRetrievalError,
        botocore.TokenRetrievalError,
        botocore.NoRegionError,
        botocore.ProfileNotFound,
        botocore.HTTPClientError,  # endpoint unreachable, timeouts
        botocore.ConnectionError,
    )
    if not isinstance(exc, expected):  # ParamValidationError and the like are bugs
        return None
    if isinstance(exc, botocore.ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "?")
        return f"AWS refused {operation}: {error.get('Code', '?')}: {error.get('Message', '')}".rstrip(": ")
    return f"AWS: {exc}"


def classify(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and one message for an expected failure; None for a bug."""
    if isinstance(exc, Failed):
        return exc.exit_code, str(exc)
    aws = _aws_error(exc)
    if aws is not None:
        return EXIT_FAILED, aws
    if isinstance(exc, subprocess.CalledProcessError):
        said = exc.stderr or exc.output
        output = said.strip() if isinstance(said, str) else ""
        command = " ".join(map(str, exc.cmd)) if isinstance(exc.cmd, list | tuple) else str(exc.cmd)
        return EXIT_FAILED, f"`{command}` exited {exc.returncode}" + (f": {output}" if output else "")
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError):
        return EXIT_FAILED, f"{exc.strerror}: {exc.filename}"
    return None
