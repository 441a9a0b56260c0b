"""The word2vec example end to end, with tiny settings: progress, neighbours, the final line, exit status."""

from __future__ import annotations

import re

import numpy as np

from scratchnn.examples import word2vec as example

TINY = ["--sentences", "400", "--epochs", "1", "--hidden-size", "8", "--window", "2", "--eval-interval", "20"]


def test_synthetic_run_ends_with_the_final_line(capsys, tmp_path):
    path = tmp_path / "vectors.npz"
    status = example.main([*TINY, "--min-recall", "0", "--save", str(path)])
    out = capsys.readouterr().out.splitlines()
    assert status == 0
    assert re.fullmatch(r"final: synonym recall@5 \d\.\d\d, analogy accuracy \d\.\d\d, \d+\.\d s", out[-1])
    assert any(line.startswith("epoch 1: synonym recall@5") for line in out)
    assert "[query] fast" in out
    assert "[analogy] king:queen = boy:?" in out
    with np.load(path, allow_pickle=False) as saved:
        assert saved["word_vecs"].shape == (len(saved["words"]), 8)
        assert "king" in saved["words"].tolist()


def test_exit_status_one_below_the_minimum_recall(capsys):
    assert example.main([*TINY, "--min-recall", "1.01"]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1].startswith("final: synonym recall@5")
    assert "below 1.01" in captured.err


def test_ptb_run_on_small_files(capsys, tmp_path):
    lines = [" the car of the year is a toyota \n", " you say the year \n"] * 40
    (tmp_path / "ptb.train.txt").write_text("".join(lines))
    status = example.main(["--ptb", str(tmp_path), "--epochs", "1", "--hidden-size", "4", "--window", "2"])
    out = capsys.readouterr().out.splitlines()
    assert status == 0
    assert "[query] toyota" in out
    assert re.fullmatch(r"final: loss \d+\.\d{3} after 1 epochs, \d+\.\d s", out[-1])
