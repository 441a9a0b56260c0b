"""A seeded corpus with planted synonyms and analogies, so that word vectors can be scored.

Design
------
Every sentence is made from one template,

    the TITLE PERSON SAYS PRONOUN VERB DET ADJECTIVE THING .

e.g. "the royal king said he drives a fast car ." or "the young girl declared she
devours several sugary apples .", with the slots filled independently:

- a *person* is a concept (12: king/queen, prince/princess, man/woman, ...) and a
  gender. The concept brings its own TITLE word (royal, noble, adult, ...), the gender
  its PRONOUN (he / she). So "king" and "queen" share every neighbour but the pronoun,
  and "queen" differs from "king" exactly as "girl" differs from "boy": the analogies
  a : b = c : d of **gender** (king : queen = boy : girl) hold by construction.
- a *thing* is a concept (12: car, truck, house, ...) and a number. Its singular form
  follows DET "a"/"one", its plural "many"/"several", so the analogies of **number**
  (car : cars = house : houses) hold the same way. Each thing has its own ADJECTIVE
  group (car: fast/quick/rapid; house: big/large/huge; ...) and belongs to one action,
  whose VERB group (drives/steers; builds/constructs; ...) takes two things.
- **synonyms** are the words of one group: verbs of an action, adjectives of a thing,
  the speech verbs (said/stated/declared) and the determiners of one number (a/one,
  many/several). Wherever a group is used, its word is drawn uniformly from the group,
  independently of everything else, so the members of a group have exactly the same
  distribution of neighbours. Different groups differ: each adjective group goes with
  its own thing, each verb group with its own things and adjectives.

Choices per sentence: person concept, gender, action and synonym members uniformly;
the thing uniformly among the action's two, its number uniformly. Analogy words
(persons, things) have no synonyms, so each question has a single right answer.

Scoring (both use cosine similarity of the given word vectors, rows of ``word_vecs``
indexed by the corpus' word ids):

- :func:`synonym_recall_at_k`: for every word of a synonym group, the share of its
  synonyms among its k nearest other words, averaged over those words;
- :func:`analogy_accuracy`: the share of questions a : b = c : d for which the word
  nearest to b - a + c (vectors normalised first; a, b and c excluded, the "3CosAdd" of
  Mikolov et al. 2013 and of the book's ``analogy``) is d.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from scratchnn import _validation as check
from scratchnn.text import preprocess

__all__ = ["PlantedCorpus", "analogy_accuracy", "generate", "synonym_recall_at_k"]

# (title, male, female): one person concept per row.
PEOPLE: tuple[tuple[str, str, str], ...] = (
    ("royal", "king", "queen"),
    ("noble", "prince", "princess"),
    ("adult", "man", "woman"),
    ("young", "boy", "girl"),
    ("parental", "father", "mother"),
    ("filial", "son", "daughter"),
    ("elder", "brother", "sister"),
    ("married", "husband", "wife"),
    ("famous", "actor", "actress"),
    ("busy", "waiter", "waitress"),
    ("distant", "uncle", "aunt"),
    ("favourite", "nephew", "niece"),
)
PRONOUNS = ("he", "she")  # male, female


@dataclass(frozen=True)
class Thing:
    """A thing concept: its two forms and the adjectives (a synonym group) that describe it."""

    singular: str
    plural: str
    adjectives: tuple[str, ...]


@dataclass(frozen=True)
class Action:
    """A verb synonym group and the two things it takes."""

    verbs: tuple[str, ...]
    things: tuple[Thing, Thing]


ACTIONS: tuple[Action, ...] = (
    Action(
        ("drives", "steers"),
        (
            Thing("car", "cars", ("fast", "quick", "rapid")),
            Thing("truck", "trucks", ("heavy", "hefty", "weighty")),
        ),
    ),
    Action(
        ("builds", "constructs"),
        (Thing("house", "houses", ("big", "large", "huge")), Thing("bridge", "bridges", ("long", "lengthy"))),
    ),
    Action(
        ("reads", "studies"),
        (
            Thing("book", "books", ("interesting", "fascinating", "gripping")),
            Thing("letter", "letters", ("short", "brief", "concise")),
        ),
    ),
    Action(
        ("eats", "consumes", "devours"),
        (Thing("apple", "apples", ("sweet", "sugary")), Thing("loaf", "loaves", ("crusty", "crisp"))),
    ),
    Action(
        ("sails", "navigates"),
        (Thing("boat", "boats", ("small", "little", "tiny")), Thing("raft", "rafts", ("wooden", "timber"))),
    ),
    Action(
        ("sings", "performs"),
        (
            Thing("song", "songs", ("beautiful", "lovely", "pretty")),
            Thing("tune", "tunes", ("cheerful", "merry")),
        ),
    ),
)
SPEECH = ("said", "stated", "declared")
DETERMINERS = (("a", "one"), ("many", "several"))  # singular, plural


@dataclass(frozen=True)
class PlantedCorpus:
    """A generated corpus and what was planted in it.

    ``text`` is the generated text; ``corpus``, ``word_to_id`` and ``id_to_word`` are
    :func:`scratchnn.text.preprocess` of it. ``synonym_groups`` lists the groups of
    interchangeable words; ``analogies`` the questions (a, b, c, d): a is to b as c is to d.
    Both are limited to words that occur in the text (a small corpus can miss rare ones).
    """

    text: str
    corpus: npt.NDArray[np.int64]
    word_to_id: dict[str, int]
    id_to_word: dict[int, str]
    synonym_groups: list[tuple[str, ...]]
    analogies: list[tuple[str, str, str, str]]


def synonym_groups() -> list[tuple[str, ...]]:
    """Every group of interchangeable words of the design (verbs, adjectives, speech, determiners)."""
    groups: list[tuple[str, ...]] = [action.verbs for action in ACTIONS]
    groups += [thing.adjectives for action in ACTIONS for thing in action.things]
    groups += [SPEECH, *DETERMINERS]
    return groups


def analogy_questions() -> list[tuple[str, str, str, str]]:
    """Gender (king : queen = boy : girl) and number (car : cars = house : houses), both directions."""
    pairs = [(male, female) for _, male, female in PEOPLE]
    forms = [(thing.singular, thing.plural) for action in ACTIONS for thing in action.things]
    questions = []
    for family in (pairs, forms):
        for a, b in family:
            for c, d in family:
                if a != c:
                    questions.append((a, b, c, d))
                    questions.append((b, a, d, c))
    return questions


def generate(
    n_sentences: int = 20000, seed: int = 0, *, skew: float = 1.0, noise: float = 0.1
) -> PlantedCorpus:
    """``n_sentences`` sentences of the planted design (10 words each, with the '.'), seeded.

    ``skew`` makes frequencies uneven, as in real text: the k-th person concept, action,
    thing of an action and member of a synonym group (counting from 1) is chosen with
    weight 1 / k ** skew (0: uniform). ``noise`` is the probability that a word is
    replaced by a word drawn from the whole generated text (a random position of it).
    Neither breaks what is planted: members of a group are still chosen independently
    of their context, and a word's share of noise occurrences is the same for every
    word (noise words are drawn in proportion to frequency), so synonyms keep exactly
    the same distribution of neighbours; they only make rare words harder to learn.
    """
    owner = "synthetic.generate"
    n = check.positive_int(owner, "n_sentences", n_sentences)
    skew = _in_range(owner, "skew", skew, 0.0, math.inf)
    noise = _in_range(owner, "noise", noise, 0.0, 1.0)
    rng = np.random.default_rng(seed)

    def choose(count: int) -> npt.NDArray[np.int64]:
        weights = 1.0 / np.arange(1, count + 1) ** skew
        return rng.choice(count, size=n, p=weights / weights.sum())

    things = [thing for a in ACTIONS for thing in a.things]  # thing 2 * action + which
    person = choose(len(PEOPLE))
    gender = rng.integers(0, 2, n)
    action = choose(len(ACTIONS))
    thing = 2 * action + choose(2)
    number = rng.integers(0, 2, n)

    def member(groups: list[tuple[str, ...]], group: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        """A member of groups[group[i]] for each sentence i, the k-th with weight 1 / k ** skew."""
        words = np.array([w for g in groups for w in g], dtype=object)
        offsets = np.concatenate(([0], np.cumsum([len(g) for g in groups])[:-1]))
        chosen = np.empty(n, dtype=np.int64)
        for size in {len(g) for g in groups}:
            weights = 1.0 / np.arange(1, size + 1) ** skew
            rows = np.flatnonzero(np.array([len(g) for g in groups])[group] == size)
            chosen[rows] = rng.choice(size, size=rows.size, p=weights / weights.sum())
        return words[offsets[group] + chosen]

    def fixed(word: str) -> npt.NDArray[Any]:
        return np.full(n, word, dtype=object)

    columns = [
        fixed("the"),
        np.array([p[0] for p in PEOPLE], dtype=object)[person],
        np.array([p[1 + g] for p in PEOPLE for g in (0, 1)], dtype=object)[2 * person + gender],
        member([SPEECH], np.zeros(n, dtype=np.int64)),
        np.array(PRONOUNS, dtype=object)[gender],
        member([a.verbs for a in ACTIONS], action),
        member(list(DETERMINERS), number),
        member([t.adjectives for t in things], thing),
        np.array([f for t in things for f in (t.singular, t.plural)], dtype=object)[2 * thing + number],
        fixed("."),
    ]
    tokens = np.stack(columns, axis=1).ravel()
    if noise > 0:
        replaced = np.flatnonzero(rng.random(tokens.size) < noise)
        tokens[replaced] = tokens[rng.integers(0, tokens.size, replaced.size)]  # drawn before replacing
    text = " ".join(tokens.tolist())
    corpus, word_to_id, id_to_word = preprocess(text)
    # A small corpus may miss rare words: keep the groups and questions it can answer.
    groups = [kept for g in synonym_groups() if len(kept := tuple(w for w in g if w in word_to_id)) > 1]
    questions = [q for q in analogy_questions() if all(w in word_to_id for w in q)]
    return PlantedCorpus(text, corpus, word_to_id, id_to_word, groups, questions)


def _in_range(owner: str, name: str, value: object, low: float, high: float) -> float:
    """A real number in [low, high)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or math.isnan(float(value))
        or not low <= float(value) < high
    ):
        raise check.fail_value(owner, name, f"a number in [{low:g}, {high:g})", repr(value))
    return float(value)


def _unit_rows(word_vecs: object, planted: PlantedCorpus, owner: str) -> npt.NDArray[np.float64]:
    """word_vecs as float64 rows of norm 1 (a zero row stays zero), one per word of the corpus."""
    vecs = check.float_array_of_rank(owner, "word_vecs", word_vecs, 2, "(V, D)")
    if vecs.shape[0] < len(planted.word_to_id):
        raise check.fail_value(
            owner,
            "word_vecs",
            f"a row for each of the {len(planted.word_to_id)} words",
            f"shape {vecs.shape}",
        )
    rows = vecs[: len(planted.word_to_id)].astype(np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def synonym_recall_at_k(word_vecs: npt.NDArray[Any], corpus: PlantedCorpus, k: int = 5) -> float:
    """Mean over the words of every synonym group of |synonyms among the k nearest| / |synonyms|.

    Nearest by cosine similarity among all other words of the vocabulary; when a word
    has more than k synonyms, the denominator is k.
    """
    owner = "synthetic.synonym_recall_at_k"
    k = check.positive_int(owner, "k", k)
    unit = _unit_rows(word_vecs, corpus, owner)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    recalls = []
    for group in corpus.synonym_groups:
        ids = [corpus.word_to_id[w] for w in group]
        for i in ids:
            nearest = set(np.argsort(-similarity[i], kind="stable")[:k].tolist())
            others = [j for j in ids if j != i]
            recalls.append(len(nearest.intersection(others)) / min(k, len(others)))
    return float(np.mean(recalls))


def analogy_accuracy(word_vecs: npt.NDArray[Any], corpus: PlantedCorpus) -> float:
    """Share of the planted questions a : b = c : d whose answer by 3CosAdd is d (module docstring)."""
    owner = "synthetic.analogy_accuracy"
    unit = _unit_rows(word_vecs, corpus, owner)
    ids = np.array([[corpus.word_to_id[w] for w in q] for q in corpus.analogies])
    a, b, c, d = ids.T
    scores = (unit[b] - unit[a] + unit[c]) @ unit.T
    rows = np.arange(len(ids))
    for excluded in (a, b, c):
        scores[rows, excluded] = -np.inf
    return float(np.mean(scores.argmax(axis=1) == d))
