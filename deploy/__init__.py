"""Deployment tooling: ``deploy.stack`` runs the local stack (tests import ``profile_env``)."""
