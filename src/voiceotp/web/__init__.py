"""The browser faces of the gateway: shared machinery here (passwords, sessions, CSRF,
i18n, the base layout, vendored static files), the operator console in ``console/``.

Imports the gateway and the store, never the CLI; the gateway never imports this package
(``voiceotp serve`` composes the two: ``create_app(..., extra_routes=console_routes())``).
"""
