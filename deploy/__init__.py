"""Deployment tooling: ``deploy/stack.py`` runs the local stack (``deploy.localstack``)."""
