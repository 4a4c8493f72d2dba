"""The sync protocol engine (server side) and the Python sync client.

Never imports Litestar: the engine is driven by ``server/`` over plain calls and
is tested without HTTP.
"""
