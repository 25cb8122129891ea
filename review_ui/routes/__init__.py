"""Routers of the review UI: login, violation pages, evidence files and the JSON API."""
