"""Calls that go up the layers: a lower domain declares a `Hook`, the domain above it installs
the function, and imports keep pointing down (tests/unit/test_layers.py)."""

from typing import Generic, TypeVar

T = TypeVar("T")


class Hook(Generic[T]):
    """One value (usually a function) a lower module uses and the module named `provider`
    installs when it is imported. Every way into the app (`create_app`, the `portfolio`
    command) imports every domain, so a missing one is a wiring bug: it raises rather than
    skip a rule silently."""

    def __init__(self, name: str, *, provider: str) -> None:
        self.name = name
        self.provider = provider
        self._value: T | None = None

    def install(self, value: T) -> T:
        self._value = value
        return value

    @property
    def value(self) -> T:
        if self._value is None:
            raise RuntimeError(f"{self.name} is not installed: import {self.provider} first")
        return self._value
