"""lsp-agent: a language server with a persistent, memory-first coding agent per workspace."""

__version__ = "0.1.0"

import os as _os

# litellm fetches a price list from the internet at import unless told to use its bundled copy;
# offline that costs seconds of retries. Users can still override it in their environment.
_os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
