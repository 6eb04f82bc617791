"""`python -m infra.emulator.server HOST PORT CERT KEY`: moto over HTTPS, with our fixes.

HTTPS because the state bucket (and the ALB log bucket) deny requests without TLS, and
moto enforces bucket policies: the emulator must not need a weaker policy than AWS.
"""

from __future__ import annotations

import sys
import threading
from typing import Any


def main() -> None:
    host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    from infra.emulator import fixes

    fixes.apply_all()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ: Any, start_response: Any) -> Any:
        # moto's backends are plain dictionaries, not safe for concurrent requests; several
        # Terraform processes at once must not interleave inside them.
        with lock:
            return list(app(environ, start_response))

    server = make_server(
        host, port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler, ssl_context=(cert, key)
    )
    print(f"emulator ready on https://{host}:{port} (fixes: {', '.join(fixes.applied()) or 'none'})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
