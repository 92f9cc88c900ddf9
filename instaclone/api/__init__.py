"""Shared conventions of the v1 REST API: envelope, errors, auth, pagination, rate headers."""
