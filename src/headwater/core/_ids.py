"""Run ids (UUIDv7, time-ordered) and generated run names (adjective-animal slugs)."""

from __future__ import annotations

import itertools
import os
import random
import time
from collections.abc import Callable
from uuid import UUID, SafeUUID


def uuid7() -> UUID:
    """A version-7 UUID: 48 bits of Unix milliseconds, then (after the version bits) the low
    12 bits of a counter that starts at a random value in each process, and (after the variant
    bits) its low 62 bits.

    Ids made in one process sort in creation order (the milliseconds, then the counter; within
    one millisecond, until the 12 bits wrap every 4,096 ids), which keeps store indexes
    compact. Ids made in the same millisecond differ in the characters right after the
    version digit (`xxxxxxxx-xxxx-7NNN-`), so the prefix a person copies to name a run stays
    short. They are unique, not unguessable: within a process the counter never repeats, and
    two processes would have to make ids in the same millisecond with counters that started
    less than a few billion apart (of 2**61) to make the same one. One clock read and one
    step of a C counter per id: no lock, no random draw.
    """
    global _last_ms, _high
    ms = _time_ns() // 1_000_000
    if ms > _last_ms:  # a new millisecond (racing threads compute the same bits)
        _high = (ms << 80) | _VERSION_VARIANT
        _last_ms = ms
    count = _next()
    uid = _new(UUID)  # skips UUID.__init__'s argument parsing (the value is valid)
    _set(uid, "int", _high | ((count & 0xFFF) << 64) | count)
    _set(uid, "is_safe", _UNKNOWN)
    return uid


# The bits for version 7 and the RFC 4122 variant.
_VERSION_VARIANT = (0x7 << 76) | (0b10 << 62)
# A private generator (seeded from os.urandom, reseeded in forked children) for the counter's
# start and run names: a user's random.seed() neither changes them nor is disturbed by them.
_random = random.Random()
_getrandbits = _random.getrandbits
_time_ns = time.time_ns
_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown  # read once: an enum member lookup runs Python code in 3.11
_last_ms = 0
_high = 0


def _new_counter() -> None:
    """A counter from a random start with room for 2**61 ids before it would need 63 bits."""
    global _counter, _next
    _counter = itertools.count(_getrandbits(61))
    _next = _counter.__next__


_counter: itertools.count[int]
_next: Callable[[], int]
_new_counter()


def _after_fork_in_child() -> None:
    _random.seed()
    _new_counter()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


_ADJECTIVES = (
    "amber", "ancient", "arctic", "azure", "bold", "brave", "bright", "brisk", "calm", "clever",
    "cobalt", "crimson", "curious", "daring", "dapper", "eager", "electric", "emerald", "fancy",
    "fearless", "fluffy", "friendly", "gentle", "giant", "golden", "graceful", "happy", "hidden",
    "humble", "icy", "indigo", "jolly", "keen", "lively", "lucky", "magenta", "mellow", "misty",
    "modest", "nimble", "noble", "olive", "patient", "polite", "proud", "quick", "quiet", "rapid",
    "royal", "rustic", "scarlet", "serene", "shiny", "silent", "silver", "smart", "spry", "steady",
    "stellar", "sturdy", "sunny", "swift", "tactful", "teal", "tidy", "tireless", "tuscan",
    "upbeat", "vivid", "warm", "wise", "witty", "zealous", "zesty",
)
_ANIMALS = (
    "albatross", "alpaca", "antelope", "badger", "bat", "beaver", "bison", "bobcat", "buffalo",
    "camel", "caribou", "cheetah", "chipmunk", "cougar", "coyote", "crane", "dingo", "dolphin",
    "eagle", "elk", "falcon", "ferret", "finch", "fox", "gazelle", "gecko", "gibbon", "giraffe",
    "heron", "hippo", "ibex", "iguana", "jackal", "jaguar", "kestrel", "koala", "lemur", "lynx",
    "macaw", "marmot", "meerkat", "mink", "moose", "narwhal", "ocelot", "okapi", "orca", "otter",
    "owl", "panda", "pelican", "penguin", "puffin", "quail", "raccoon", "raven", "salamander",
    "seal", "sparrow", "stoat", "swan", "tapir", "tiger", "toucan", "turtle", "urchin", "viper",
    "walrus", "weasel", "wolf", "wombat", "yak", "zebra",
)


def generate_slug() -> str:
    """A random two-word run name such as ``'tuscan-bat'``."""
    adjective = _ADJECTIVES[int(_uniform() * _N_ADJECTIVES)]
    return f"{adjective}-{_ANIMALS[int(_uniform() * _N_ANIMALS)]}"


_uniform = _random.random
_N_ADJECTIVES, _N_ANIMALS = len(_ADJECTIVES), len(_ANIMALS)


def short_key() -> str:
    """Three hex characters that tell a flow's task runs apart: ``add-3fa``."""
    return _HEX3[_getrandbits(12)]


_HEX3 = tuple(f"{i:03x}" for i in range(4096))
