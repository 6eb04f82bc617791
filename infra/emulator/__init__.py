"""The embedded AWS emulator: moto in server mode, started and stopped by our own code.

Emulation is environment only (`client_env`): the synthesized JSON is the one real AWS
gets. What moto 5.2.5 gets wrong for our resources is fixed in `infra.emulator.fixes`,
loaded by `infra.emulator.wsgi` (the app gunicorn serves) before moto serves a request.
"""
