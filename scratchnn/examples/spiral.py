"""Section 1.4's training run: TwoLayerNet on the spiral data with SGD.

    python -m scratchnn.examples.spiral [--epochs 300] [--plot spiral_loss.png]

Prints loss and training accuracy as it goes, the final accuracy and the time
taken; saves the loss curve when matplotlib is installed (or ``--plot`` names a
file). Exits with status 1 if the final accuracy is below ``--min-accuracy``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scratchnn.datasets import spiral
from scratchnn.models import TwoLayerNet
from scratchnn.optimizers import SGD
from scratchnn.trainer import Trainer


@dataclass(frozen=True)
class Result:
    accuracy: float
    final_loss: float
    seconds: float
    plot: Path | None


def train(
    max_epoch: int = 300,
    batch_size: int = 30,
    hidden_size: int = 10,
    learning_rate: float = 1.0,
    seed: int = 1984,
    plot: Path | None = None,
    eval_interval: int = 100,
) -> Result:
    """The book's hyperparameters: 300 epochs, batches of 30, 10 hidden units, lr 1.0."""
    x, t = spiral.load_data(seed=seed)
    model = TwoLayerNet(input_size=2, hidden_size=hidden_size, output_size=3, rng=seed)
    trainer = Trainer(model, SGD(lr=learning_rate), rng=seed)
    start = time.perf_counter()
    trainer.fit(
        x,
        t,
        max_epoch=max_epoch,
        batch_size=batch_size,
        eval_interval=eval_interval,
        metrics={"accuracy": lambda: model.accuracy(x, t)},
    )
    seconds = time.perf_counter() - start
    saved = trainer.save_plot(plot) if plot is not None else None
    return Result(model.accuracy(x, t), float(model.forward(x, t)), seconds, saved)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--hidden-size", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1984)
    parser.add_argument("--eval-interval", type=int, default=100, help="iterations between progress lines")
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    parser.add_argument(
        "--plot",
        type=Path,
        default=Path("spiral_loss.png") if has_matplotlib else None,
        help="where to save the loss curve (default: spiral_loss.png when matplotlib is installed)",
    )
    parser.add_argument("--no-plot", dest="plot", action="store_const", const=None)
    parser.add_argument("--min-accuracy", type=float, default=0.9)
    args = parser.parse_args(argv)

    result = train(
        args.epochs,
        args.batch_size,
        args.hidden_size,
        args.lr,
        args.seed,
        args.plot,
        args.eval_interval,
    )
    if result.plot is not None:
        print(f"loss curve saved to {result.plot}")
    print(
        f"final: training accuracy {result.accuracy:.4f}, loss {result.final_loss:.4f}, "
        f"{result.seconds:.2f} s of training"
    )
    if result.accuracy < args.min_accuracy:
        print(f"accuracy below {args.min_accuracy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
