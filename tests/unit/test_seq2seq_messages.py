"""Errors of the seq2seq decoders name the argument the caller passed, as the book names it:
a malformed ``dscore`` is refused by the decoder's backward (not by its TimeAffine, a layer the
caller never built), and a batch of encoder states that does not match ``xs`` names ``enc_hs``."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn.models import AttentionDecoder, Decoder, PeekyDecoder

V, D, H, N, T = 7, 3, 4, 2, 5


def started(cls):
    decoder = cls(V, D, H, rng=0)
    xs = np.arange(N * T).reshape(N, T) % V
    state = np.zeros((N, 3, H)) if cls is AttentionDecoder else np.zeros((N, H))
    scores = decoder.forward(xs, state)
    return decoder, scores


@pytest.mark.parametrize("cls", [Decoder, PeekyDecoder, AttentionDecoder])
def test_a_dscore_of_another_shape_is_refused_in_the_decoders_name(cls):
    decoder, scores = started(cls)
    with pytest.raises(ValueError, match=rf"^{cls.__name__}\.backward: dscore must .*\(1, 2, 5, 7\)"):
        decoder.backward(scores[np.newaxis])
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\.backward: dscore must .*float32"):
        decoder.backward(scores.astype(np.float32))


@pytest.mark.parametrize("cls", [Decoder, PeekyDecoder, AttentionDecoder])
def test_a_right_dscore_still_gives_the_start_states_gradient(cls):
    decoder, scores = started(cls)
    dstate = decoder.backward(np.ones_like(scores))
    assert dstate.shape == ((N, 3, H) if cls is AttentionDecoder else (N, H))


def test_encoder_states_of_another_batch_are_named():
    decoder = AttentionDecoder(V, D, H, rng=0)
    xs = np.zeros((N, T), dtype=np.int64)
    with pytest.raises(ValueError, match=r"^AttentionDecoder\.forward: enc_hs must be 2 sequences like xs"):
        decoder.forward(xs, np.zeros((N + 1, 3, H)))
