"""The Litestar server: app factory, settings, auth, routes, CLI, and the programme's
domain (``server.domain``) registered as mutators with the sync engine."""
