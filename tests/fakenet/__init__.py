"""A real HTTP server on 127.0.0.1 that speaks the networks' documented shapes and injects
faults on demand. Runs in its own thread, so async tests, Pilot tests and subprocesses
(`triage ingest --once`) can all talk to it."""

from tests.fakenet.server import FakeNet, Fault, Request, Response

__all__ = ["FakeNet", "Fault", "Request", "Response"]
