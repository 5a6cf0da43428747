"""Copy the rolesanywhere, IAM and STS models from the installed botocore into the package.

The models elsewhere serves are a reviewed part of the product, not whatever botocore is
installed: ``make models`` runs this after a botocore bump in the lock file, and the commit that
carries the new files says what the new operations and members change for users.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import pathlib
import sys

import botocore
from botocore.loaders import create_loader

SERVICES = ("rolesanywhere", "iam", "sts")
TARGET = pathlib.Path(__file__).resolve().parent.parent / "src/elsewhere/protocol/models"


def main() -> int:
    """Write each model as canonical, compressed JSON and the provenance table beside them."""
    loader = create_loader()
    rows = []
    for name in SERVICES:
        model = loader.load_service_model(name, "service-2")
        version = model["metadata"]["apiVersion"]
        # Key order is kept: members serialize (XML answers, validation messages) in model order.
        text = json.dumps(model, separators=(",", ":"), ensure_ascii=False)
        data = text.encode()
        path = TARGET / f"{name}.json.gz"
        # mtime=0 so the same model always writes the same bytes.
        path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        digest = hashlib.sha256(data).hexdigest()
        rows.append(f"| {name} | {version} | {len(model['operations'])} | `{digest}` |")
    table = "\n".join(rows)
    (TARGET / "PROVENANCE.md").write_text(
        _PROVENANCE.format(botocore=botocore.__version__, table=table)
    )
    print(f"models from botocore {botocore.__version__} written to {TARGET}")
    return 0


_PROVENANCE = """\
# Service models served by elsewhere

These files define what elsewhere's server accepts and answers for the `rolesanywhere`, `iam`
and `sts` APIs: operations, members, constraints and error shapes. They are the `service-2`
models that AWS publishes with botocore, copied unchanged in content and in key order
(re-serialized as compact JSON and gzip-compressed). The order matters: members are written in
model order in XML answers and validation messages, as AWS writes them.

- Source: botocore {botocore} (`botocore/data/<service>/<api-version>/service-2.json.gz`),
  https://github.com/boto/botocore
- Licence: Apache License 2.0 (botocore and its data files); see the project's `LICENSE`.
- Refreshed with `make models`, which copies them from the botocore pinned in
  `requirements/dev.lock`. A refresh is a commit of its own that says what changed for users.

The SHA-256 column is of the uncompressed JSON; `tests/unit/protocol/test_models.py` checks it,
so the files cannot change without this table changing with them.

| service | API version | operations | SHA-256 of the JSON |
|---|---|---|---|
{table}
"""


if __name__ == "__main__":
    sys.exit(main())
