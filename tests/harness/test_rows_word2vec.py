"""The rows of chapters 2 to 4 (negative sampling and the word2vec models): the corpus they draw,
the sampling check's false-alarm rate and power, the harness pieces they rely on, and what a run
says of the book's own code (tests/harness/fixtures/book_negative_sampling.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import Phase, settings

import conformance.profiles  # noqa: F401  (registers the profiles)
import scratchnn
from conformance import invoke
from conformance.cases import Case
from conformance.checks import CHECKS
from conformance.checks.context import Context
from conformance.dims import Computed
from conformance.engine import MemorySink, verify
from conformance.examples import materialize, typical_example
from conformance.implementation import Implementation
from conformance.kinds import ClassLabels, Corpus
from conformance.measurement import Measurement
from conformance.registry import ROWS_BY_NAME
from conformance.registry.negative_sampling import TOP_COUNT, SkewedCorpus, corpus_counts, corpus_length
from conformance.sampling import FALSE_ALARM, UnigramDistribution, chi_square_p_value
from conformance.spec import Example, ExampleSpec, Row, Tensor
from tests.harness.broken import word2vec as broken
from tests.harness.fixtures import book_negative_sampling as book
from tests.harness.reporting import learner

CI = settings(settings.get_profile("ci"), phases=[Phase.explicit, Phase.generate])
SCRATCHNN = Implementation((scratchnn,))

# --- the drawn corpus --------------------------------------------------------------------------


def corpora(vocab: int, count: int) -> list[np.ndarray]:
    kind, dims = SkewedCorpus("V"), {"V": vocab}
    shape = (corpus_length(dims),)
    return [kind.draw(np.random.default_rng(seed), shape, dims, Case({})) for seed in range(count)]


@pytest.mark.parametrize("vocab", [2, 3, 5, 12, 30])
def test_the_corpus_always_holds_the_largest_id_and_another_word(vocab: int) -> None:
    for corpus in corpora(vocab, 200):
        counts = np.bincount(corpus, minlength=vocab)
        assert corpus.dtype == np.int64
        assert corpus.size == corpus_length({"V": vocab}) == counts.sum()
        assert counts.size == vocab
        assert counts[-1] > 0, "the largest id occurs: the vocabulary is the table's"
        assert np.count_nonzero(counts) >= 2, "every target has another word to sample"


@pytest.mark.parametrize("vocab", [3, 5, 12])
def test_the_corpus_sometimes_lacks_ids_below_its_largest(vocab: int) -> None:
    lacking = [np.count_nonzero(np.bincount(c, minlength=vocab) == 0) > 0 for c in corpora(vocab, 200)]
    assert 0.35 < np.mean(lacking) < 0.65  # about half the examples (a binomial(200, 1/2) count)


def test_the_corpus_counts_span_1_to_51_geometrically() -> None:
    for vocab in (2, 3, 12, 30):
        counts = corpus_counts(vocab)
        assert counts[0] == 1
        assert counts[-1] == TOP_COUNT
        assert np.all(np.diff(counts) >= 0)
    assert list(corpus_counts(3)) == [1, 7, 51]


# --- the sampling check: false alarms and power ------------------------------------------------


def other_word_distribution(counts: np.ndarray, power: float) -> np.ndarray:
    """What the frequency test expects of the first column: count ** power without the commonest word."""
    weights = counts.astype(np.float64) ** power
    weights[np.argmax(counts)] = 0.0
    return weights[weights > 0] / weights.sum()


def test_the_frequency_test_rejects_a_right_sampler_at_its_nominal_rate() -> None:
    """Multinomial draws from the exact distribution (a perfect sampler) on the rows' corpora:
    the p-values of ``chi_square_p_value`` must be calibrated. Checked at 1e-2 and 1e-3 over
    20,000 tests. The 1e-6 of the check itself needs ~1e8 tests; measured once on the corpora
    of V = 3, 12 and 30 words (30 is the thorough profile's cap, with the smallest expected
    counts, 118): 89 rejections in 1e8, 114 in 1e8 and 48 in 5e7, i.e. 0.9e-6, 1.1e-6 and
    1.0e-6. The bounds here are the binomial count's mean +- 4.9 standard deviations (a false
    failure below 1e-6)."""
    rng = np.random.default_rng(2024)
    p_values = []
    for vocab, power in [(3, 0.75), (5, 0.5), (8, 0.75), (12, 0.75), (12, 0.5)]:
        for corpus in corpora(vocab, 4):
            p = other_word_distribution(np.bincount(corpus), power)
            expected = 20_000 * p
            for observed in rng.multinomial(20_000, p, size=1000):
                p_values.append(chi_square_p_value(observed.astype(np.float64), expected)[2])
    values = np.array(p_values)
    tests = values.size
    for level in (1e-2, 1e-3):
        mean = tests * level
        spread = 4.9 * np.sqrt(tests * level * (1 - level))
        rejected = int(np.sum(values < level))
        assert mean - spread <= rejected <= mean + spread, (level, rejected, mean)


def sampler_examples(count: int) -> list[Example]:
    """Examples of the UnigramSampler row with every id present and V >= 3: two other words at
    least, whose frequencies tell the powers apart."""
    row = ROWS_BY_NAME["UnigramSampler"]
    case = row.cases()[0]
    rng = np.random.default_rng(7)
    found: list[Example] = []
    while len(found) < count:
        dims: dict[str, Any] = {"N": 3, "V": int(rng.integers(3, 13)), "K": int(rng.integers(1, 6))}
        dims["power"] = (0.75, 0.5)[len(found) % 2]
        dims["L"] = corpus_length(dims)
        example = materialize(row, ExampleSpec(dims, case, int(rng.integers(2**32))))
        if np.all(np.bincount(example.value("corpus")) > 0):
            found.append(example)
    return found


def frequencies(measurements: list[Measurement]) -> Measurement:
    return next(m for m in measurements if m.target == "frequencies")


def test_a_sampler_that_ignores_power_fails_every_example_with_two_other_words() -> None:
    row = ROWS_BY_NAME["UnigramSampler"]
    sampling = row.sampling
    assert isinstance(sampling, UnigramDistribution)
    for example in sampler_examples(24):
        right = sampling.measure(Context(row, scratchnn.UnigramSampler, example, "scratchnn"))
        assert all(m.status == "pass" for m in right), [m.detail for m in right]
        wrong = sampling.measure(Context(row, broken.UnigramSamplerIgnoresPower, example, "broken"))
        assert frequencies(wrong).status == "fail", frequencies(wrong).detail
    assert FALSE_ALARM == 1e-6


# --- the harness pieces the rows rely on ------------------------------------------------------


def test_a_one_format_label_kind_ignores_another_inputs_labels_axis() -> None:
    """SimpleCBOW's contexts are one-hot only, its target indices or one-hot (the labels axis)."""
    row = ROWS_BY_NAME["SimpleCBOW"]
    for case in row.cases():
        example = typical_example(row, case)
        contexts = example.value("contexts")
        assert contexts.shape == (example.dims["N"], 2, example.dims["V"])
        assert np.all(contexts.sum(axis=-1) == 1)
    assert ClassLabels("V", formats=("one_hot",)).format(Case({"labels": "indices"})) == "one_hot"


def test_a_rebound_instance_gets_the_new_examples_negatives() -> None:
    """The contract's second call runs on another example: its sampler must return that
    example's negatives, as a fresh layer's would."""
    row = ROWS_BY_NAME["NegativeSamplingLoss"]
    first = typical_example(row, seed=1)
    other = typical_example(row, seed=2)
    assert not np.array_equal(first.value("negatives"), other.value("negatives"))
    instance = invoke.construct(row, scratchnn.NegativeSamplingLoss, first, np.float64)
    target = np.arange(first.dims["V"])
    sampler = instance.layer.sampler
    np.testing.assert_array_equal(sampler.get_negative_sample(target), first.value("negatives"))
    instance.rebind(other)
    np.testing.assert_array_equal(sampler.get_negative_sample(target), other.value("negatives"))


# --- what a run says of the book's code ---------------------------------------------------------

BOOK = learner(
    EmbeddingDot=book.EmbeddingDot,
    UnigramSampler=book.UnigramSampler,
    NegativeSamplingLoss=book.NegativeSamplingLoss,
    CBOW=book.CBOW,
    SkipGram=book.SkipGram,
)


def every_id_occurs(row: Row) -> Row:
    """The row with the stock corpus, in which every id 0 .. V-1 occurs (as the book assumes)."""
    corpus = Tensor("corpus", ("L",), Corpus("V"), route="construct")
    inputs = tuple(corpus if t.name == "corpus" else t for t in row.inputs)
    dims = {**row.dims, "L": Computed(lambda d: 8 * d["V"])}
    return dataclasses.replace(row, inputs=inputs, dims=dims)


class Float64Weights:
    """The book's model with its float32 weights replaced by float64 copies everywhere it holds
    them (what a learner gets by dropping ``.astype('f')``), so the float64 checks can run."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)  # type: ignore[call-arg]
        replaced: dict[int, np.ndarray] = {}

        def widen(array: Any) -> Any:
            if not isinstance(array, np.ndarray) or array.dtype != np.float32:
                return array
            return replaced.setdefault(id(array), array.astype(np.float64))

        for holder in [self, *_layers(self)]:
            for name in ("params", "grads"):
                values = getattr(holder, name, None)
                if isinstance(values, list):
                    values[:] = [widen(v) for v in values]
        self.word_vecs = widen(self.word_vecs)


def _layers(model: Any) -> list[Any]:
    found = []
    for value in vars(model).values():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if hasattr(item, "params"):
                found += [item, *_layers(item)]
    return found


def book_float64(name: str) -> type:
    return type(name, (Float64Weights, getattr(book, name)), {})


def test_the_books_embedding_dot_is_right_and_checks_nothing() -> None:
    row = ROWS_BY_NAME["EmbeddingDot"]
    for check in ("gradient", "finite_difference", "float32"):
        outcome = verify(row, check, BOOK, MemorySink(), CI)
        assert outcome.status == "pass", outcome.describe()
    bad = verify(row, "bad_input", BOOK, MemorySink(), CI)
    assert bad.status == "fail"
    assert any("accepted silently" in m.detail for m in bad.failing)


def sampler_example(corpus: list[int], sample_size: int) -> Example:
    row = ROWS_BY_NAME["UnigramSampler"]
    ids = np.array(corpus, dtype=np.int64)
    dims: dict[str, Any] = {"N": 3, "V": int(ids.max()) + 1, "K": sample_size, "power": 0.75}
    dims["L"] = corpus_length(dims)
    example = materialize(row, ExampleSpec(dims, row.cases()[0], 0))
    return example.with_input("corpus", ids).with_dims(L=ids.size)


def run_sampling(example: Example, cls: type, draws: int) -> list[Measurement]:
    """The sampling check on one example; the book's sampler loops in Python over 20,000 rows
    (2 s a call here), so these tests draw fewer rows: every effect asserted is far larger."""
    row = dataclasses.replace(ROWS_BY_NAME["UnigramSampler"], sampling=UnigramDistribution(draws=draws))
    return CHECKS["sampling"].run(Context(row, cls, example, "book"))


def test_the_books_sampler_draws_from_the_right_law_when_every_id_occurs() -> None:
    corpus = [0] * 9 + [1] * 3 + [2] * 27 + [3] + [4] * 5
    found = run_sampling(sampler_example(corpus, 2), book.UnigramSampler, 2000)
    assert {m.target: m.status for m in found} == {
        "same_seed_same_draws": "pass",
        "never_own_target": "pass",
        "never_unseen_word": "pass",
        "frequencies": "pass",
    }


def test_the_books_sampler_takes_the_number_of_distinct_ids_for_the_vocabulary() -> None:
    # id 3 never occurs: the book's vocabulary is len(Counter) = 4, so word 4 is never drawn
    corpus = [0] * 9 + [1] * 3 + [2] * 27 + [4] * 5
    found = run_sampling(sampler_example(corpus, 2), book.UnigramSampler, 2000)
    assert frequencies(found).status == "fail"
    assert frequencies(found).detail.startswith("first column against count**0.75: chi-square")


def test_the_books_sampler_cannot_draw_more_negatives_than_other_words() -> None:
    found = run_sampling(sampler_example([0, 1, 1, 2, 2, 2], 3), book.UnigramSampler, 100)
    assert [m.status for m in found] == ["error"]
    assert "non-zero entries in p" in found[0].detail  # replace=False with two words to draw from


def test_the_books_loss_adds_1e7_in_the_log_and_overflows() -> None:
    row = every_id_occurs(ROWS_BY_NAME["NegativeSamplingLoss"])
    forward = verify(row, "forward", BOOK, MemorySink(), CI)
    assert forward.status == "fail"
    assert all(1e-9 < m.max_rel_err < 1e-5 for m in forward.failing if m.max_rel_err is not None)
    stability = verify(row, "stability", BOOK, MemorySink(), CI)
    assert stability.status == "fail"


def test_the_books_loss_lists_w_once_per_score_and_its_summed_gradient_is_right() -> None:
    row = every_id_occurs(ROWS_BY_NAME["NegativeSamplingLoss"])
    example = typical_example(row)
    instance = invoke.construct(row, book.NegativeSamplingLoss, example, np.float64)
    K = example.dims["K"]
    assert len(instance.layer.params) == K + 1
    assert all(p is instance.layer.params[0] for p in instance.layer.params)
    outcome = verify(row, "gradient", BOOK, MemorySink(), CI)
    assert outcome.status == "pass", outcome.describe()


def test_the_books_sampler_breaks_the_loss_on_a_corpus_lacking_low_ids() -> None:
    # ids 0 and 1 never occur: the book's word_p is counts[0:2] = [0, 0], normalised by 0
    example = typical_example(ROWS_BY_NAME["NegativeSamplingLoss"]).with_input(
        "corpus", np.array([2, 2, 3, 3, 3])
    )
    with pytest.raises(invoke.ImplementationRaised, match="invalid value encountered in divide"):
        invoke.construct(ROWS_BY_NAME["NegativeSamplingLoss"], book.NegativeSamplingLoss, example, np.float64)


@pytest.mark.parametrize("name", ["CBOW", "SkipGram"])
def test_the_books_models_make_float32_weights(name: str) -> None:
    """The float64 checks cannot write float64 weights into the book's float32 ones: the run
    says so (as an error naming the dtype, or as not applicable to such a constructor)."""
    outcome = verify(ROWS_BY_NAME[name], "forward", BOOK, MemorySink(), CI)
    assert outcome.status in ("error", "skipped")
    said = " ".join([outcome.message, *(case.cause for case in outcome.cases)])
    assert "float32" in said, said


@pytest.mark.parametrize("name", ["CBOW", "SkipGram"])
def test_the_books_models_with_float64_weights_have_right_gradients(name: str) -> None:
    """CBOW lists W_in once per context column and W_out (sample_size + 1) times; SkipGram W_out
    (sample_size + 1) times per context column: the gradients summed per array are right."""
    row = every_id_occurs(ROWS_BY_NAME[name])
    implementation = learner(**{name: book_float64(name)})
    example = typical_example(row)
    model = invoke.construct(row, book_float64(name), example, np.float64).layer
    reading = invoke.read_params(row, model)
    assert reading.buffers is not None
    assert reading.length > 2, "params lists shared arrays several times"
    outcome = verify(row, "gradient", implementation, MemorySink(), CI)
    assert outcome.status == "pass", outcome.describe()
    forward = verify(row, "forward", implementation, MemorySink(), CI)
    assert forward.status == "fail", "the 1e-7 inside SigmoidWithLoss's log"


SAMPLER_BUGS = {
    "sampler-ignores-power": "frequencies",
    "sampler-fixed-power": "frequencies",
    "sampler-draws-unseen-words": "never_unseen_word",
    "sampler-draws-target": "never_own_target",
}


@pytest.mark.parametrize(("variant_id", "target"), SAMPLER_BUGS.items())
def test_each_broken_sampler_fails_for_its_own_reason(variant_id: str, target: str) -> None:
    variant = next(v for v in broken.VARIANTS if v.id == variant_id)
    outcome = verify(
        ROWS_BY_NAME["UnigramSampler"], "sampling", learner(UnigramSampler=variant.cls), MemorySink(), CI
    )
    assert outcome.status == "fail"
    assert [m.target for m in outcome.failing] == [target], outcome.describe()
