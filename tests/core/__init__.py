"""Tests of the document core (``esign.core``)."""
