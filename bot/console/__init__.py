"""The operator console: accounts, sessions, audit, handoff inbox and catalogue curation.

Imports nothing: the Rasa runtime imports ``bot`` packages and has no FastAPI."""
