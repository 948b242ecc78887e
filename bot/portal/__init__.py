"""Dossier status through the portal API: client, simulator, status vocabulary, notifier.

Imports nothing on purpose (the Rasa runtime imports from ``bot``)."""
