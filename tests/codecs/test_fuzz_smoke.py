"""The fuzz target (fuzz/fuzz_llhttp_codec.py) run without atheris, over a few thousand
inputs: corpus responses mutated at random, random bytes, and hypothesis' choices."""

from __future__ import annotations

import importlib.util
import pathlib
import random
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.codecs.corpus import CASES
from tests.missing import import_or_missing, missing

import_or_missing("httptools", module_level=True)

TARGET = pathlib.Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_llhttp_codec.py"
if not TARGET.exists():  # an sdist ships tests/ but not fuzz/
    missing(f"{TARGET} is not there", module_level=True)


def _load_target() -> Callable[[bytes], None]:
    spec = importlib.util.spec_from_file_location("fuzz_llhttp_codec", TARGET)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    target: Callable[[bytes], None] = module.check_one_input
    return target


check_one_input = _load_target()
SEEDS = [case.response[:4096] for case in CASES]


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((0, 1, 1, 2, 4))):
        position = rng.randrange(len(out) + 1)
        action = rng.randrange(4)
        if action == 0 and out:
            del out[min(position, len(out) - 1)]
        elif action == 1:
            out.insert(position, rng.randrange(256))
        elif action == 2 and out:
            out[min(position, len(out) - 1)] = rng.choice(b"\r\n \t:;0123456789aF\x00\x01\x7f")
        else:
            other = rng.choice(SEEDS)
            start = rng.randrange(len(other) + 1)
            out[position:position] = other[start : start + rng.randrange(1, 40)]
    return bytes(out)


def test_mutated_corpus_inputs() -> None:
    rng = random.Random(20240611)
    for _ in range(2500):
        control = bytes(rng.randrange(256) for _ in range(3))
        check_one_input(control + mutate(rng.choice(SEEDS), rng))


def test_random_inputs() -> None:
    rng = random.Random(7)
    for _ in range(1000):
        check_one_input(rng.randbytes(rng.randrange(0, 300)))


@settings(
    max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.binary(max_size=400))
def test_hypothesis_inputs(data: bytes) -> None:
    check_one_input(data)


def test_the_target_catches_a_broken_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    from httpduo._codecs import llhttp

    def broken(self: llhttp.LLHTTPCodec) -> object:
        raise IndexError("boom")

    monkeypatch.setattr(llhttp.LLHTTPCodec, "next_event", broken)
    with pytest.raises(IndexError):
        check_one_input(b"\0\0\0HTTP/1.1 200 OK\r\n\r\n")
