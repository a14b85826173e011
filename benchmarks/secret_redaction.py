"""Secret redaction: how many of the test formats are caught, and how often ordinary text is
touched (false positives), over this repository's own source and docs and over generated
English sentences that use secret-sounding words in their everyday sense.

    PYTHONPATH=$PWD python benchmarks/secret_redaction.py [--sentences 600]

Prints the figures recorded in docs/benchmarks.md ("Secrets never stored in clear").
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import random
import time
from pathlib import Path

from lsp_agent.memory.secrets import find_secrets, redact

ROOT = Path(__file__).resolve().parent.parent
SOURCE_SUFFIXES = {".py", ".md", ".lua", ".ts", ".json", ".toml", ".sh", ".yaml", ".yml"}
SKIP_PARTS = {".git", ".venv", "node_modules", "__pycache__"}
# files whose secrets are fake ones on purpose (the redaction tests and their fixtures)
ON_PURPOSE = {"tests/test_secrets.py"}

SUBJECTS = ["I", "We", "My sister", "The team", "Our landlord", "Caroline", "Melanie",
            "The teacher", "Everyone at work", "My neighbour", "The new intern", "Grandpa"]
PHRASES = [
    "forgot the password to the wifi again", "changed the password after the phishing email",
    "kept the secret about the surprise party", "found the key to the old shed",
    "used a token to ride the subway", "said the key to success is patience",
    "asked for a pass to the museum", "lost the car keys at the beach",
    "got a bus pass for the summer", "shared a secret recipe for apple pie",
    "passed the driving test on the second try", "bought a token of appreciation for the nurse",
    "read an article about password managers", "learned that secrets make people anxious",
    "reset the token count in the board game", "thinks the API is easy to use",
    "wrote a blog post about AWS pricing", "told me the access code is on the fridge",
    "set up two-factor authentication", "is reading a novel called The Secret Garden",
    "signed in with the company account", "went to a talk about credential stuffing",
    "said the password rules are too strict", "keeps a spare key under the mat",
    "heard that the secret ingredient was nutmeg", "used a bearer bond in a heist movie plot",
    "painted the private key chain blue", "asked whether the token expires on Friday",
]
ENDINGS = ["", " yesterday.", " last week.", " on Sunday.", " and laughed about it.",
           " before the trip to Paris.", " again, of course!", " in May 2023.",
           " (it was a long day).", " - what a week."]


def sentences(n: int, seed: int = 7) -> list[str]:
    """`n` ordinary sentences (chat and prose) that mention passwords, keys and tokens."""
    rng = random.Random(seed)
    combos = list(itertools.product(SUBJECTS, PHRASES, ENDINGS))
    rng.shuffle(combos)
    out = [f"{s} {p}{e or '.'}" for s, p, e in combos[:n]]
    out += [f'She said: "{p}."' for p in PHRASES]
    out += [f"Q: what is the {w} for? A: the {w} is for the {x}." for w, x in
            [("password", "laptop"), ("key", "garage"), ("token", "arcade"), ("pass", "park")]]
    return out


def repo_files() -> list[Path]:
    return [p for p in sorted(ROOT.rglob("*")) if p.is_file() and p.suffix in SOURCE_SUFFIXES
            and not SKIP_PARTS & set(p.parts) and "package-lock" not in p.name]


def _formats() -> list[tuple[str, str, str]]:
    spec = importlib.util.spec_from_file_location("secret_tests", ROOT / "tests/test_secrets.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.FORMATS)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=600)
    args = ap.parse_args()

    formats = _formats()
    caught = sum(secret not in redact(text) for _, text, secret in formats)
    print(f"formats: {caught}/{len(formats)} redacted")

    files = repo_files()
    lines = chars = 0
    flagged: list[tuple[str, str, str]] = []
    start = time.perf_counter()
    for path in files:
        rel = str(path.relative_to(ROOT))
        text = path.read_text(encoding="utf-8", errors="replace")
        lines += text.count("\n") + 1
        chars += len(text)
        if rel not in ON_PURPOSE:
            flagged += [(rel, kind, value[:40]) for kind, value in find_secrets(text)]
    seconds = time.perf_counter() - start
    print(f"repository: {len(files)} files, {lines} lines, {chars / 1e6:.2f} MB scanned in "
          f"{seconds:.2f} s ({chars / 1e6 / seconds:.2f} MB/s); flagged outside the secret "
          f"tests: {len(flagged)}")
    for hit in flagged:
        print("   ", *hit)

    said = sentences(args.sentences)
    changed = [s for s in said if redact(s) != s]
    print(f"sentences: {len(changed)}/{len(said)} changed "
          f"({100 * len(changed) / len(said):.2f}% false positives)")
    for s in changed:
        print("   ", s, "->", redact(s))


if __name__ == "__main__":
    main()
