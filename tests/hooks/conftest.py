"""The hooks' tests run the embedded pipeline of tests/pipeline."""

from tests.pipeline.conftest import pipe

__all__ = ["pipe"]
