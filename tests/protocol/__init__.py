"""Checks of the language-neutral protocol data (``protocol/``) and the vector pattern matcher."""
