"""Argon2Hasher against the real argon2: fast parameters here, production ones checked once."""

from __future__ import annotations

import statistics
import time

import pytest

from adapters.passwords import Argon2Hasher
from tests.conftest import FAST_HASHES



@pytest.fixture
def hasher() -> Argon2Hasher:
    return Argon2Hasher(**FAST_HASHES)


def test_a_hashed_password_verifies(hasher):
    assert hasher.verify("correct horse", hasher.hash("correct horse")) is True


def test_a_wrong_password_does_not_verify(hasher):
    assert hasher.verify("wrong horse", hasher.hash("correct horse")) is False


def test_an_unknown_agent_never_verifies(hasher):
    assert hasher.verify("correct horse", None) is False
    assert hasher.verify("", None) is False


def test_hashes_are_argon2id_with_the_given_parameters(hasher):
    assert hasher.hash("secret1").startswith("$argon2id$v=19$m=1024,t=1,p=1$")


def test_default_parameters_are_production_strength():
    assert Argon2Hasher().hash("secret1").startswith("$argon2id$v=19$m=65536,t=3,p=1$")


def test_the_plaintext_never_appears_in_the_hash(hasher):
    password = "Plaintext-Marker-12345"
    assert password not in hasher.hash(password)
    assert not any(password in stored for stored in hasher.hash_many([password] * 20))


def test_hash_many_hashes_forty_passwords_on_worker_processes_with_progress():
    hasher = Argon2Hasher(**FAST_HASHES, workers=2)
    passwords = [f"agent-password-{number}" for number in range(40)]
    progress: list[int] = []

    hashes = hasher.hash_many(passwords, on_progress=progress.append)

    assert len(hashes) == 40
    assert len(set(hashes)) == 40
    assert all(hasher.verify(password, stored) for password, stored in zip(passwords, hashes, strict=True))
    assert not hasher.verify(passwords[0], hashes[1])
    assert sum(progress) == 40
    assert len(progress) > 1  # reported per chunk, not once at the end


def test_a_small_batch_is_hashed_in_order_with_progress(hasher):
    progress: list[int] = []
    hashes = hasher.hash_many(["first-pw", "second-pw"], on_progress=progress.append)
    assert [hasher.verify("first-pw", hashes[0]), hasher.verify("second-pw", hashes[1])] == [True, True]
    assert progress == [1, 1]
    assert hasher.hash_many([]) == []


def test_a_hash_made_with_weaker_parameters_needs_a_rehash(hasher):
    weak = hasher.hash("secret1")
    assert hasher.needs_rehash(weak) is False
    assert Argon2Hasher().needs_rehash(weak) is True


def test_an_unknown_agent_takes_as_long_as_a_wrong_password():
    hasher = Argon2Hasher(memory_cost=16384, time_cost=2)
    stored = hasher.hash("correct horse")

    def median_seconds(stored_hash: str | None) -> float:
        timings = []
        for _ in range(7):
            started = time.perf_counter()
            hasher.verify("wrong horse", stored_hash)
            timings.append(time.perf_counter() - started)
        return statistics.median(timings)

    wrong_password, unknown_agent = median_seconds(stored), median_seconds(None)
    assert 0.5 < unknown_agent / wrong_password < 2.0
