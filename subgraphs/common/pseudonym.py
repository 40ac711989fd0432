"""A keyed digest of an ID number, for matching records about the same person across domains without
passing the number itself over the event bus or storing it where it is not needed.

HMAC-SHA256 under JSHEALTH_ID_DIGEST_KEY. The development modes and tests use a fixed key that is public
(below), which is fine for synthetic data; a deployment sets its own secret, the same in every subgraph.
"""

from __future__ import annotations

import hashlib
import hmac
import os

KEY_ENV = "JSHEALTH_ID_DIGEST_KEY"
DEVELOPMENT_KEY = "jshealth-development-id-digest-key"


def id_number_digest(id_number: str) -> str:
    key = os.environ.get(KEY_ENV, DEVELOPMENT_KEY).encode()
    return hmac.new(key, id_number.strip().upper().encode(), hashlib.sha256).hexdigest()
