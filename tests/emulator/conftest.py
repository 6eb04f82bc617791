"""What the data-plane tests share: a real emulator (gunicorn over HTTPS, with our fixes and
its data planes), fresh for each test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.emulator import launcher

REGION = "sa-east-1"


@pytest.fixture(scope="module")
def emulator() -> Iterator[launcher.Emulator]:
    with launcher.running("123456789012", REGION, fresh=True) as running:
        yield running
