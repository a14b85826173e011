"""One small term scorer for what memory searches without an index: blocks and skills.

A handful of texts is scored in Python rather than through LanceDB's full-text index, so the
rules the index applies must be applied here too, or a query like "how do I run the tests"
matches everything on "how", "do" and "the": stop words are dropped, a term matches the words
it begins ("test" finds "tests"), and what a reader never sees (HTML comments, such as the
markers `init` puts around its section of a block) is not matched or shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# English stop words (the common NLTK list, without contractions): words that say nothing
# about what is searched for.
STOP_WORDS = frozenset(
    "a about above after again against all am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each few for "
    "from further had has have having he her here hers herself him himself his how i if in "
    "into is it its itself just me more most my myself no nor not now of off on once only or "
    "other our ours ourselves out over own same she should so some such than that the their "
    "theirs them themselves then there these they this those through to too under until up "
    "very was we were what when where which while who whom why will with would you your "
    "yours yourself yourselves".split()
)

_WORD = re.compile(r"\w+")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def words(text: str) -> list[str]:
    """The lower-case words of `text`."""
    return _WORD.findall(text.lower())


def query_terms(query: str) -> list[str]:
    """The words of a query worth matching: two or more characters, not stop words (each
    once, in order)."""
    return list(dict.fromkeys(w for w in words(query) if len(w) > 1 and w not in STOP_WORDS))


def visible(text: str) -> str:
    """`text` without HTML comments: markdown shows them to no one."""
    return _COMMENT.sub("", text)


def term_score(terms: Sequence[str], text: str, *, name: str = "",
               name_weight: float = 0.0) -> float:
    """How well `text` matches `terms`, 0 when none of them is in it.

    Each term found in `text` adds hits / (hits + 1), so covering more of the query counts
    most and repeating a word a little; each term among the words of `name` adds
    `name_weight`. A name alone never makes a match. The sum is divided by len(terms).
    """
    if not terms:
        return 0.0
    found = words(text)
    score = 0.0
    for term in terms:
        hits = sum(1 for w in found if w.startswith(term))
        score += hits / (hits + 1)
    if score == 0.0:
        return 0.0
    if name and name_weight:
        named = words(name)
        score += name_weight * sum(1 for t in terms if any(w.startswith(t) for w in named))
    return score / len(terms)


def best_line(terms: Sequence[str], text: str) -> str:
    """The line of `text` (HTML comments left out) that matches `terms` best, stripped; the
    first non-empty line when none matches."""
    lines = [ln.strip() for ln in visible(text).splitlines() if ln.strip()]
    if not lines:
        return ""
    scores = [term_score(terms, ln) for ln in lines]
    best = max(range(len(lines)), key=lambda i: (scores[i], -i))
    return lines[best]
