"""`python -m infra.emulator.server HOST PORT CERT KEY`: moto over HTTPS, with our fixes.

HTTPS because the state bucket (and the ALB log bucket) deny requests without TLS, and
moto enforces bucket policies: the emulator must not need a weaker policy than AWS.
"""

from __future__ import annotations

import sys


def main() -> None:
    host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    from infra.emulator import fixes

    fixes.apply_all()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler, ssl_context=(cert, key))
    print(f"emulator ready on https://{host}:{port} (fixes: {', '.join(fixes.applied()) or 'none'})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
