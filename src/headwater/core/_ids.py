"""Run ids (UUIDv7, time-ordered) and generated run names (adjective-animal slugs)."""

from __future__ import annotations

import os
import random
import threading
import time
from uuid import UUID, SafeUUID

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def uuid7() -> UUID:
    """A version-7 UUID: 48 bits of Unix milliseconds, then a counter and random bits.

    Ids made in one process sort in creation order, which keeps store indexes compact.
    """
    global _last_ms, _seq
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            _seq = (_seq + 1) & 0xFFF
            if _seq == 0:  # 4,096 ids in one millisecond: borrow the next millisecond
                ms += 1
        else:
            _seq = _random.getrandbits(11)
        _last_ms = ms
        seq = _seq
    # 62 random bits from a private generator (seeded from os.urandom, reseeded in forked
    # children): ids must be unique, not unguessable, and this is much cheaper than os.urandom
    # per id. Private, so a user's random.seed() neither changes ids nor is disturbed by them.
    value = (ms << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | _getrandbits(62)
    uid = object.__new__(UUID)  # skips UUID.__init__'s argument parsing (the value is valid)
    _set(uid, "int", value)
    _set(uid, "is_safe", _UNKNOWN)
    return uid


_random = random.Random()
_getrandbits = _random.getrandbits
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_random.seed)
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown  # read once: an enum member lookup runs Python code in 3.11


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
    return f"{_random.choice(_ADJECTIVES)}-{_random.choice(_ANIMALS)}"


def short_key() -> str:
    """Three hex characters that tell a flow's task runs apart: ``add-3fa``."""
    return f"{_random.getrandbits(12):03x}"
