"""The PTB loader on small files in PTB format, and the planted-structure corpus and its scores."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn.datasets import ptb, synthetic
from scratchnn.text import create_co_matrix

# --- PTB ----------------------------------------------------------------------------------------

# The real files: one sentence per line, a space before every word and before the newline.
TRAIN = " the cat sat \n a cat <unk> the mat \n"
VALID = " the mat sat \n"
TEST = " a <unk> \n the cat \n"


def write_ptb(directory, files=("train", "valid", "test")):
    texts = {"train": TRAIN, "valid": VALID, "test": TEST}
    for split in files:
        (directory / ptb.FILES[split]).write_text(texts[split])
    return directory


def test_train_split_ids_and_eos(tmp_path):
    corpus, word_to_id, id_to_word = ptb.load_data("train", root=write_ptb(tmp_path))
    assert list(word_to_id) == ["the", "cat", "sat", "<eos>", "a", "<unk>", "mat"]
    assert id_to_word == {i: w for w, i in word_to_id.items()}
    assert corpus.dtype == np.int64
    # the cat sat <eos> a cat <unk> the mat <eos>
    np.testing.assert_array_equal(corpus, [0, 1, 2, 3, 4, 1, 5, 0, 6, 3])


@pytest.mark.parametrize(("split", "expected"), [("valid", [0, 6, 2, 3]), ("val", [0, 6, 2, 3])])
def test_other_splits_use_the_training_vocabulary(tmp_path, split, expected):
    corpus, word_to_id, _ = ptb.load_data(split, root=write_ptb(tmp_path))
    assert len(word_to_id) == 7
    np.testing.assert_array_equal(corpus, expected)
    test, _, _ = ptb.load_data("test", root=tmp_path)
    np.testing.assert_array_equal(test, [4, 5, 3, 0, 1, 3])


def test_the_directory_can_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(ptb.ENV_VAR, str(write_ptb(tmp_path)))
    corpus, _, _ = ptb.load_data()
    assert corpus.size == 10


def test_missing_files_say_which_and_how_to_provide_them(tmp_path, monkeypatch):
    monkeypatch.delenv(ptb.ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError) as error:
        ptb.load_data("valid", root=tmp_path)
    message = str(error.value)
    for part in ("ptb.train.txt", "ptb.valid.txt", str(tmp_path), "root=", ptb.ENV_VAR):
        assert part in message
    with pytest.raises(FileNotFoundError, match=r"no directory given.*SCRATCHNN_PTB_DIR"):
        ptb.load_data()
    write_ptb(tmp_path, files=("train",))
    with pytest.raises(FileNotFoundError, match=r"ptb\.test\.txt not found"):
        ptb.load_data("test", root=tmp_path)


def test_a_word_missing_from_the_training_text_is_an_error(tmp_path):
    write_ptb(tmp_path)
    (tmp_path / "ptb.valid.txt").write_text(" the dog \n")
    with pytest.raises(
        ValueError, match=r"the word 'dog' of ptb\.valid\.txt does not occur in ptb\.train\.txt"
    ):
        ptb.load_data("valid", root=tmp_path)


def test_an_unknown_split_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"ptb\.load_data: split must be one of"):
        ptb.load_data("training", root=tmp_path)


# --- the planted corpus ------------------------------------------------------------------------


def by_sentence(planted):
    words = np.array([planted.id_to_word[i] for i in planted.corpus.tolist()], dtype=object)
    return words.reshape(-1, 10)


def test_generate_is_seeded():
    a, b, c = (
        synthetic.generate(300, seed=1),
        synthetic.generate(300, seed=1),
        synthetic.generate(300, seed=2),
    )
    assert a.text == b.text
    np.testing.assert_array_equal(a.corpus, b.corpus)
    assert a.text != c.text


def test_without_noise_every_sentence_follows_the_template():
    planted = synthetic.generate(2000, seed=3, noise=0.0)
    sentences = by_sentence(planted)
    assert sentences.shape == (2000, 10)
    titles = {title: (male, female) for title, male, female in synthetic.PEOPLE}
    actions = {verb: action for action in synthetic.ACTIONS for verb in action.verbs}
    for the, title, person, says, pronoun, verb, det, adjective, thing, dot in sentences[:300]:
        assert (the, dot) == ("the", ".")
        assert says in synthetic.SPEECH
        assert person == titles[title][synthetic.PRONOUNS.index(pronoun)]  # the gender agrees
        forms = {t.singular: (t, 0) for t in actions[verb].things} | {
            t.plural: (t, 1) for t in actions[verb].things
        }
        described, number = forms[thing]  # the thing is one the verb takes
        assert adjective in described.adjectives
        assert det in synthetic.DETERMINERS[number]  # the determiner agrees in number


def test_synonyms_have_the_same_neighbours():
    """Rows of the co-occurrence matrix of one group's members agree up to sampling noise."""
    planted = synthetic.generate(20000, seed=4, noise=0.1)
    C = create_co_matrix(planted.corpus, len(planted.word_to_id), window_size=2).astype(float)
    for group in (("fast", "quick", "rapid"), ("drives", "steers"), ("said", "stated", "declared")):
        rows = C[[planted.word_to_id[w] for w in group]]
        distributions = rows / rows.sum(axis=1, keepdims=True)
        spread = 0.5 * np.abs(distributions - distributions[0]).sum(axis=1)  # total variation
        assert spread.max() < 0.1, (group, spread)
    # while different groups differ
    fast, heavy = (C[planted.word_to_id[w]] for w in ("fast", "heavy"))
    assert 0.5 * np.abs(fast / fast.sum() - heavy / heavy.sum()).sum() > 0.2


def test_skew_makes_later_members_rarer():
    planted = synthetic.generate(20000, seed=5, noise=0.0, skew=1.0)
    counts = np.bincount(planted.corpus)
    said, stated, declared = (counts[planted.word_to_id[w]] for w in synthetic.SPEECH)
    # weights 1, 1/2, 1/3: shares 6/11, 3/11, 2/11 of 20,000
    assert said == pytest.approx(20000 * 6 / 11, rel=0.05)
    assert stated == pytest.approx(20000 * 3 / 11, rel=0.05)
    assert declared == pytest.approx(20000 * 2 / 11, rel=0.05)
    uniform = synthetic.generate(20000, seed=5, noise=0.0, skew=0.0)
    counts = np.bincount(uniform.corpus)
    assert counts[uniform.word_to_id["declared"]] == pytest.approx(20000 / 3, rel=0.05)


def test_groups_and_questions_use_words_of_the_vocabulary():
    planted = synthetic.generate(3000, seed=6)
    words = [w for g in planted.synonym_groups for w in g]
    assert len(words) == len(set(words))  # groups are disjoint
    assert set(words) <= set(planted.word_to_id)
    assert len(planted.analogies) == 2 * (12 * 11) * 2  # gender and number, both directions
    assert ("king", "queen", "boy", "girl") in planted.analogies
    assert ("cars", "car", "houses", "house") in planted.analogies
    assert {w for q in planted.analogies for w in q} <= set(planted.word_to_id)
    analogy_words = {w for q in planted.analogies for w in q}
    assert not analogy_words & set(words)  # analogy words have no synonyms: one right answer


def planted_vectors(planted, noise=0.0, seed=0):
    """Ideal vectors: one direction per synonym group, concept + attribute for the analogy words."""
    rng = np.random.default_rng(seed)
    V = len(planted.word_to_id)
    vecs = rng.standard_normal((V, 64)) * noise
    basis = iter(np.eye(64))
    for group in planted.synonym_groups:
        direction = next(basis)
        for word in group:
            vecs[planted.word_to_id[word]] += direction
    male, female, singular, plural = next(basis), next(basis), next(basis), next(basis)
    for _, m, f in synthetic.PEOPLE:
        concept = next(basis)
        vecs[planted.word_to_id[m]] += concept + 0.5 * male
        vecs[planted.word_to_id[f]] += concept + 0.5 * female
    for action in synthetic.ACTIONS:
        for thing in action.things:
            concept = next(basis)
            vecs[planted.word_to_id[thing.singular]] += concept + 0.5 * singular
            vecs[planted.word_to_id[thing.plural]] += concept + 0.5 * plural
    return vecs


def test_scores_of_ideal_and_random_vectors():
    planted = synthetic.generate(500, seed=7)
    ideal = planted_vectors(planted, noise=0.01)
    assert synthetic.synonym_recall_at_k(ideal, planted) == 1.0
    assert synthetic.analogy_accuracy(ideal, planted) == 1.0
    random = np.random.default_rng(8).standard_normal(ideal.shape)
    assert synthetic.synonym_recall_at_k(random, planted) < 0.3
    assert synthetic.analogy_accuracy(random, planted) < 0.1


def test_recall_counts_synonyms_among_the_k_nearest():
    planted = synthetic.generate(500, seed=9)
    vecs = planted_vectors(planted)
    # move 'rapid' next to 'heavy', and away from 'fast' (below the zero similarity of unrelated
    # words, so no tie decides): for fast and quick one synonym of two is still found
    fast, heavy = vecs[planted.word_to_id["fast"]], vecs[planted.word_to_id["heavy"]]
    vecs[planted.word_to_id["rapid"]] = heavy - 0.5 * fast
    words = [w for g in planted.synonym_groups for w in g]
    recall = synthetic.synonym_recall_at_k(vecs, planted, k=5)
    # fast, quick: 1/2 each; rapid: 0/2; heavy, hefty, weighty: unchanged (2/2, 'rapid' is not theirs)
    assert recall == pytest.approx((len(words) - 3 + 0.5 + 0.5 + 0) / len(words))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"synthetic\.generate: n_sentences must be a positive integer"):
        synthetic.generate(0)
    with pytest.raises(ValueError, match=r"synthetic\.generate: noise must be a number in \[0, 1\)"):
        synthetic.generate(10, noise=1.0)
    with pytest.raises(ValueError, match=r"synthetic\.generate: skew must be a number in \[0, inf\)"):
        synthetic.generate(10, skew=-1)
    planted = synthetic.generate(200)
    with pytest.raises(ValueError, match=r"synthetic\.synonym_recall_at_k: word_vecs must be a row for each"):
        synthetic.synonym_recall_at_k(np.ones((3, 2)), planted)
    with pytest.raises(ValueError, match=r"synthetic\.analogy_accuracy: word_vecs must be a 2-D array"):
        synthetic.analogy_accuracy(np.ones(3), planted)


def test_a_small_corpus_keeps_only_the_groups_and_questions_it_contains():
    planted = synthetic.generate(20, seed=1)
    assert 0 < len(planted.synonym_groups) < len(synthetic.synonym_groups())
    assert all(len(g) > 1 and set(g) <= set(planted.word_to_id) for g in planted.synonym_groups)
    assert all(set(q) <= set(planted.word_to_id) for q in planted.analogies)
    synthetic.synonym_recall_at_k(np.ones((len(planted.word_to_id), 2)), planted)  # no KeyError
