"""Argon2Hasher: the PasswordHasher port on libpass's CryptContext, hashing batches on every CPU core.

Production parameters are argon2id with 64 MiB of memory and 3 passes (RFC 9106's second recommended
option) in one lane. One lane costs an attacker exactly what four do (Argon2's cost is memory times passes),
but keeps each hash on one core: argon2-cffi runs one thread per lane, so with four lanes a single hash
already spreads over the cores and a process per core would only fight over them. Parallelism comes from
`hash_many`'s process pool instead.

Passwords reach the worker processes only through the executor's pipes; nothing here writes them to disk,
logs them or puts them in an exception message.
"""

from __future__ import annotations

import functools
import logging
import math
import multiprocessing
import os
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

from passlib.context import CryptContext

logger = logging.getLogger(__name__)

#: Below this many passwords, starting worker processes costs more than it saves.
IN_PROCESS_LIMIT = 16
#: Small chunks keep progress moving and leave cores idle only briefly at the end; 16 production hashes
#: (about two seconds) easily pay for a trip through the pipe.
CHUNKS_PER_WORKER = 32
MAX_CHUNK_SIZE = 16


#: Production argon2id settings (see the module docstring).
MEMORY_COST = 65536  # KiB, i.e. 64 MiB
TIME_COST = 3  # passes over the memory
PARALLELISM = 1  # lanes


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """The argon2id settings every hash is made with; hashes made with other settings need a rehash."""

    memory_cost: int = MEMORY_COST
    time_cost: int = TIME_COST
    parallelism: int = PARALLELISM


@functools.cache
def build_context(parameters: Argon2Parameters) -> CryptContext:
    """The CryptContext for these parameters, built once per process (workers included)."""
    return CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__memory_cost=parameters.memory_cost,
        argon2__rounds=parameters.time_cost,
        argon2__parallelism=parameters.parallelism,
    )


def hash_chunk(parameters: Argon2Parameters, passwords: Sequence[str]) -> list[str]:
    """Hash some passwords with these parameters; runs in a worker process."""
    context = build_context(parameters)
    return [context.hash(password) for password in passwords]


def count_usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), falling back to all of the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Argon2Hasher:
    """Hashes and verifies agent passwords with argon2id; implements plugin.ports.PasswordHasher."""

    def __init__(
        self,
        *,
        memory_cost: int = MEMORY_COST,
        time_cost: int = TIME_COST,
        parallelism: int = PARALLELISM,
        workers: int | None = None,
    ) -> None:
        self.parameters = Argon2Parameters(memory_cost, time_cost, parallelism)
        self.workers = workers or count_usable_cpus()
        self._context = build_context(self.parameters)
        self._dummy_hash: str | None = None

    def hash(self, password: str) -> str:
        """One password's hash, in this process (a set-password form, a rehash after sign-in)."""
        return self._context.hash(password)

    def hash_many(
        self, passwords: Sequence[str], *, on_progress: Callable[[int], None] | None = None
    ) -> list[str]:
        """The hashes of passwords, in the same order, made on all cores; on_progress(n) after each chunk.

        A fresh pool of spawned processes per call: forking a process that runs threads (a web server,
        a queue worker) can deadlock, and a pool per call leaves nothing to close.
        """
        if len(passwords) < IN_PROCESS_LIMIT or self.workers == 1:
            return self._hash_in_process(passwords, on_progress)
        chunk_count = self.workers * CHUNKS_PER_WORKER
        chunk_size = max(1, min(MAX_CHUNK_SIZE, math.ceil(len(passwords) / chunk_count)))
        starts = range(0, len(passwords), chunk_size)
        hashes: list[str] = [""] * len(passwords)
        executor = ProcessPoolExecutor(
            max_workers=min(self.workers, len(starts)), mp_context=multiprocessing.get_context("spawn")
        )
        try:
            pending: dict[Future[list[str]], int] = {
                executor.submit(hash_chunk, self.parameters, passwords[start : start + chunk_size]): start
                for start in starts
            }
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    start = pending.pop(future)
                    chunk = future.result()
                    hashes[start : start + len(chunk)] = chunk
                    if on_progress is not None:
                        on_progress(len(chunk))
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        logger.debug("hashed %s passwords in %s chunks", len(passwords), len(starts))
        return hashes

    def _hash_in_process(
        self, passwords: Sequence[str], on_progress: Callable[[int], None] | None
    ) -> list[str]:
        hashes = []
        for password in passwords:
            hashes.append(self._context.hash(password))
            if on_progress is not None:
                on_progress(1)
        return hashes

    def verify(self, password: str, stored_hash: str | None) -> bool:
        """Whether password matches stored_hash; None (unknown email, no password yet) is always False.

        With None the password is checked against a dummy hash made with the same parameters, so an
        unknown email takes as long as a wrong password. The dummy is our own rather than
        CryptContext.dummy_verify()'s, which is made on its first use: that first unknown email would take
        a hash plus a verify. Ours is made on the first call of either kind.
        """
        if self._dummy_hash is None:
            self._dummy_hash = self._context.hash(secrets.token_urlsafe(32))
        if stored_hash is None:
            self._context.verify(password, self._dummy_hash)
            return False
        return self._context.verify(password, stored_hash)

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether stored_hash was made with another scheme or other parameters than ours."""
        return self._context.needs_update(stored_hash)
