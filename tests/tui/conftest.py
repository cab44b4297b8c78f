"""The fake desk's fixtures (tests/fake_desk.py) for this folder's tests."""

from tests.fake_desk import desk, kit, settings  # noqa: F401  (fixtures)
