"""Authentication: tokens, API keys, the ``local`` strategy, login throttling and the router gate."""
