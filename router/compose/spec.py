"""What the federation specs name, as the composer needs it: the federation directives (v2 and v1), the
built-ins, the machinery types and root fields a subgraph carries, the root operations, and the form of an
@override label."""

from __future__ import annotations

import re

FEDERATION_SPEC = "https://specs.apollo.dev/federation/"
FEDERATION_DIRECTIVES = (
    "key", "shareable", "external", "requires", "provides", "extends", "override", "inaccessible", "tag",
    "composeDirective", "interfaceObject", "authenticated", "requiresScopes", "policy", "context",
    "fromContext", "cost", "listSize", "cacheTag",
)
FEDERATION_1_DIRECTIVES = ("key", "external", "requires", "provides", "extends", "tag", "inaccessible")
# Built-in directives Apollo copies into the supergraph, and built-ins it knows.
KEPT_BUILT_IN_DIRECTIVES = ("deprecated", "specifiedBy")
BUILT_IN_DIRECTIVES = ("deprecated", "specifiedBy", "include", "skip", "oneOf", "defer", "stream")
FEDERATION_TYPES = {"_Any", "_Entity", "_Service", "FieldSet", "_FieldSet", "link__Import", "link__Purpose",
                    "federation__Scope", "federation__Policy", "federation__ContextFieldValue",
                    "federation__FieldSet", "federation__Cost", "federation__ListSize"}
FEDERATION_ROOT_FIELDS = {"_entities", "_service"}
ROOT_OPERATIONS = ("query", "mutation", "subscription")
ROOT_TYPES = ("Query", "Mutation", "Subscription")
LABEL = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-:./]*$")
PERCENT_LABEL = re.compile(r"^percent\((\d{1,2}(\.\d{1,8})?|100)\)$")
COMPOSITE = ("object", "interface", "union")
