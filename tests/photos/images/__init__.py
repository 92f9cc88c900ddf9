"""Tests of the image pipeline (photos.images), split by subject."""
