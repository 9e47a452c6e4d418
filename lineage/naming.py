"""Dataset identity: one (namespace, name) for one dataset, however an integration spelled it.

OpenLineage's naming conventions (spec/docs/naming.md) give each data store a namespace of the
form ``scheme://authority`` and a name (a table path or an object key). Integrations still differ
in spelling: ``POSTGRESQL://DB.example.com`` and ``postgres://db.example.com:5432`` are the same
database, ``s3a://bucket/`` and ``s3://bucket`` the same bucket. ``normalize`` applies these
rules, each safe because it never joins two different datasets:

1. The scheme and the host are lower-cased (both are case-insensitive in URIs and DNS); the
   rest (user info, paths, names) keeps its case, since databases and object stores may not.
2. Scheme aliases map to the spec's scheme: postgresql -> postgres, s3a/s3n -> s3,
   gcs -> gs, mariadb -> mysql (the spec's table names the first of each).
3. A missing port is filled in with the store's default where the spec's namespace carries a
   port: postgres 5432, mysql 3306, mssql 1433, sqlserver 1433, redshift 5439, oracle 1521,
   db2 50000, teradata 1025, trino 8080, cassandra 9042, kafka 9092, hive 10000.
4. A trailing slash on the namespace is dropped; ``file://`` with no host is ``file``.
5. For object stores (s3, gs, abfss, wasbs) the name is an object key: leading and trailing
   slashes are dropped. For file systems (file, hdfs, dbfs) the name is a path: repeated
   slashes are collapsed and a trailing slash is dropped, a leading one kept.

Anything that does not parse as ``scheme://authority`` (``bigquery``, ``file``, a Glue ARN,
``pubsub``) is kept as sent, apart from surrounding whitespace.

Runs are identified by a UUID (``run_key``). The spec asks for one, but some producers (Marquez's
own fixtures among them) send any text; such a run id is turned into a UUID the way Marquez does
it (Java's ``UUID.nameUUIDFromBytes``, an MD5 name-based UUID of the text's UTF-8 bytes), so a
run keeps one identity across its events and its children's ``parent`` facets, and a team moving
from Marquez finds its runs under the same ids.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from lineage.keys import DatasetKey

SCHEME_ALIASES = {"postgresql": "postgres", "s3a": "s3", "s3n": "s3", "gcs": "gs", "mariadb": "mysql"}
DEFAULT_PORTS = {
    "postgres": 5432,
    "mysql": 3306,
    "mssql": 1433,
    "sqlserver": 1433,
    "redshift": 5439,
    "oracle": 1521,
    "db2": 50000,
    "teradata": 1025,
    "trino": 8080,
    "cassandra": 9042,
    "kafka": 9092,
    "hive": 10000,
}
OBJECT_STORES = frozenset({"s3", "gs", "abfss", "wasbs"})
FILE_SYSTEMS = frozenset({"file", "hdfs", "dbfs"})

_URI = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)$")
_HOST_PORT = re.compile(r"^(?P<userinfo>[^@]*@)?(?P<host>\[[^\]]*\]|[^:]*)(?::(?P<port>\d*))?$")


def normalize(namespace: str, name: str) -> DatasetKey:
    """The canonical spelling of a dataset's identity (rules in the module docstring)."""
    namespace, name = namespace.strip(), name.strip()
    match = _URI.match(namespace)
    if match is None:
        return DatasetKey(namespace, name)
    scheme = match["scheme"].lower()
    scheme = SCHEME_ALIASES.get(scheme, scheme)
    authority = _authority(scheme, match["authority"])
    rest = match["rest"].rstrip("/")
    if scheme == "file" and not authority and not rest:
        return DatasetKey("file", _path(name))
    namespace = f"{scheme}://{authority}{rest}"
    if scheme in OBJECT_STORES:
        name = name.strip("/") or "/"  # "/" alone: the bucket's root
    elif scheme in FILE_SYSTEMS:
        name = _path(name)
    return DatasetKey(namespace, name)


def split_dataset(text: str) -> DatasetKey:
    """A dataset named in one string, as people paste it, normalised: ``scheme://authority/name``
    (the namespace is the scheme and authority, the name the rest: a table, an object key, or a
    path, which keeps its leading slash on file systems) or, for a namespace that is no URI,
    ``namespace/name`` split at the first slash. Raises ValueError for anything else."""
    text = text.strip()
    match = _URI.match(text)
    if match is not None:
        rest = match["rest"]
        if rest.strip("/"):
            scheme = SCHEME_ALIASES.get(match["scheme"].lower(), match["scheme"].lower())
            name = rest if scheme in FILE_SYSTEMS else rest[1:]
            return normalize(f"{match['scheme']}://{match['authority']}", name)
    else:
        namespace, slash, name = text.partition("/")
        if slash and namespace.strip() and name.strip():
            return normalize(namespace, name)
    raise ValueError(
        f"{text!r} does not name a dataset: give its namespace and name, or one string such as "
        "postgres://db:5432/shop.public.orders, s3://bucket/path/to/key or bigquery/project.dataset.table"
    )


def run_key(run_id: str) -> UUID:
    """The UUID a run is keyed by: the run id itself when it is a UUID (``is_uuid``), else one
    derived from its text as Marquez derives it."""
    if is_uuid(run_id):
        return UUID(run_id)
    digest = bytearray(hashlib.md5(run_id.encode(), usedforsecurity=False).digest())
    digest[6] = (digest[6] & 0x0F) | 0x30  # version 3: name-based, MD5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return UUID(bytes=bytes(digest))


_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_uuid(run_id: str) -> bool:
    """Whether ``run_id`` is a UUID in the spec's spelling (hex digits in groups of 8-4-4-4-12,
    either case), which ``run_key`` keeps as it is. Other spellings (braces, no hyphens, spaces)
    are text to Marquez, and here too."""
    return len(run_id) == 36 and _CANONICAL_UUID.fullmatch(run_id) is not None


def _authority(scheme: str, authority: str) -> str:
    parts = _HOST_PORT.match(authority)
    if parts is None:
        return authority
    host = parts["host"].lower()
    port = parts["port"]
    if not port and host and scheme in DEFAULT_PORTS:
        port = str(DEFAULT_PORTS[scheme])
    return f"{parts['userinfo'] or ''}{host}{':' + port if port else ''}"


def _path(name: str) -> str:
    collapsed = re.sub(r"/{2,}", "/", name)
    return collapsed.rstrip("/") if collapsed != "/" else collapsed


def declared_aliases(key: DatasetKey, facets: Mapping[str, Any]) -> set[tuple[DatasetKey, DatasetKey]]:
    """(alias, canonical) pairs a dataset's facets declare, identities normalised.

    ``symlinks``: this dataset (often a path) is an alias of each identifier (often the table it
    backs). ``lifecycleStateChange`` RENAME: the previous identifier is an alias of this, the new
    name. Malformed entries are ignored.
    """
    pairs: set[tuple[DatasetKey, DatasetKey]] = set()
    symlinks = facets.get("symlinks")
    identifiers = symlinks.get("identifiers") if isinstance(symlinks, dict) else None
    for ident in identifiers if isinstance(identifiers, list) else []:
        other = _identity(ident)
        if other is not None and other != key:
            pairs.add((key, other))
    change = facets.get("lifecycleStateChange")
    if isinstance(change, dict) and change.get("lifecycleStateChange") == "RENAME":
        previous = _identity(change.get("previousIdentifier"))
        if previous is not None and previous != key:
            pairs.add((previous, key))
    return pairs


def _identity(value: Any) -> DatasetKey | None:
    if not isinstance(value, dict):
        return None
    namespace, name = value.get("namespace"), value.get("name")
    if not isinstance(namespace, str) or not isinstance(name, str) or not namespace.strip() or not name.strip():
        return None
    return normalize(namespace, name)
