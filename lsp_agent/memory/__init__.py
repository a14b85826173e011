"""Memory: the LanceDB store and everything kept in it."""

import os

# LanceDB's own warnings (a compaction preempted by another machine's write, then retried)
# print Rust source paths to stderr, which the CLI shows; what matters is reported by
# lsp-agent itself. LANCEDB_LOG=warn (or debug) shows them again.
os.environ.setdefault("LANCEDB_LOG", "error")
