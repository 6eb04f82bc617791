"""The emulator as a WSGI application: moto with our fixes, one request at a time.

Served by gunicorn (see launcher.py) over HTTPS: the state bucket (and the ALB log
bucket) deny requests without TLS, and the emulator must not need a weaker policy than
AWS. werkzeug's development server lost responses under load (a request answered 200 was
retried by the client, creating duplicates); gunicorn handles connections properly.
"""

from __future__ import annotations

import threading
from typing import Any

from infra.emulator import fixes

fixes.apply_all()

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402

_moto = DomainDispatcherApplication(create_backend_app)
_lock = threading.Lock()


def app(environ: Any, start_response: Any) -> Any:
    # moto's backends are plain dictionaries, not safe for concurrent requests; several
    # Terraform processes at once must not interleave inside them.
    with _lock:
        return list(_moto(environ, start_response))
